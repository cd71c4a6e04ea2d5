#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter, or explains how to get one.
# Rasa 3.6 installs only on Python 3.8-3.10; Lantern is built and tested on 3.10.
set -euo pipefail

is_310() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1; }

if [ -n "${PYTHON:-}" ]; then
    if is_310 "$PYTHON"; then command -v "$PYTHON"; exit 0; fi
    echo "PYTHON=$PYTHON is not a Python 3.10 interpreter." >&2
    exit 1
fi

for candidate in python3.10 "$(command -v pyenv >/dev/null 2>&1 && PYENV_VERSION=3.10 pyenv which python3.10 2>/dev/null || true)" python3 python; do
    [ -n "$candidate" ] || continue
    if path=$(command -v "$candidate" 2>/dev/null) && is_310 "$path"; then
        # A pyenv shim only answers for 3.10 when PYENV_VERSION selects it; resolve to the real binary.
        if real=$("$path" -c 'import sys; print(sys.executable)' 2>/dev/null) && [ -n "$real" ]; then
            echo "$real"; exit 0
        fi
    fi
done

cat >&2 <<'MSG'
No Python 3.10 interpreter found. Rasa 3.6, which Lantern runs on, installs only on Python 3.8-3.10.
Get one, then run the command again:
  - with pyenv:      pyenv install 3.10 && PYENV_VERSION=3.10 make run
  - Debian/Ubuntu:   sudo apt-get install python3.10 python3.10-venv   (deadsnakes PPA on Ubuntu)
  - macOS (brew):    brew install python@3.10
  - or point at one: make run PYTHON=/path/to/python3.10
MSG
exit 1
