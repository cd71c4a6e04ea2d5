#!/usr/bin/env bash
# Debian's Chromium for the browser tests. Playwright drives this executable; it never
# downloads a browser of its own (that download is blocked on these machines anyway).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version
