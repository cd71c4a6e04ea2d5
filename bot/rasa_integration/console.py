"""A server console an operator can read: the known third-party deprecation warnings go.

Rasa 3.6 imports TensorFlow, matplotlib, Sanic and their dependencies, which warn about
APIs their own authors have deprecated (pyparsing's camelCase names in matplotlib,
`distutils` in sanic_cors, `jax.xla_computation` in TensorFlow, `pkg_resources`, SQLAlchemy
2.0 notes in Rasa's tracker store). Nothing in Lantern can act on them. The filter names
those packages only, so a warning raised by Lantern's own code (`bot.*`) is still shown.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Callable

THIRD_PARTY_MODULES = (
    "absl", "apscheduler", "aiohttp", "dask", "flatbuffers", "google", "h5py", "jax", "keras",
    "matplotlib", "networkx", "pkg_resources", "pyparsing", "rasa", "rasa_sdk", "sanic",
    "sanic_cors", "sanic_routing", "scipy", "setuptools", "sklearn", "tensorboard",
    "tensorflow", "tensorflow_addons", "websockets",
)
DEPRECATIONS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
# `module` is matched from the start of the warning's module name.
_MODULES = r"(%s)(\.|$)" % "|".join(name.replace(".", r"\.") for name in THIRD_PARTY_MODULES)


def quiet_third_party_warnings() -> None:
    """Hide the deprecation warnings that third-party packages raise (call before importing them)."""
    _ignore_third_party()
    # Importing Sanic puts `filterwarnings("once", category=DeprecationWarning)` in front of
    # every filter (sanic/app.py); both servers import it, so it is imported here, once, and
    # the filters go back in front of it.
    import sanic  # noqa: F401

    _ignore_third_party()
    # Rasa later puts `filterwarnings("once", category=UserWarning)` in front as well, and
    # some deprecations are UserWarnings too (pyparsing's, raised in matplotlib): the last
    # word is with what is shown.
    if not getattr(warnings.showwarning, "lantern_quiet", False):
        warnings.showwarning = _quiet(warnings.showwarning)


def _is_third_party_deprecation(category: type[Warning], filename: str) -> bool:
    if not issubclass(category, DEPRECATIONS):
        return False
    parts = Path(filename).parts
    return any(
        part == "site-packages" and index + 1 < len(parts) and parts[index + 1].removesuffix(".py") in THIRD_PARTY_MODULES
        for index, part in enumerate(parts)
    )


def _quiet(show: Callable[..., None]) -> Callable[..., None]:
    def show_unless_third_party(message: Any, category: type[Warning], filename: str, *args: Any, **kwargs: Any) -> None:
        if not _is_third_party_deprecation(category, filename):
            show(message, category, filename, *args, **kwargs)

    show_unless_third_party.lantern_quiet = True  # type: ignore[attr-defined]
    return show_unless_third_party


def _ignore_third_party() -> None:
    for category in DEPRECATIONS:
        warnings.filterwarnings("ignore", category=category, module=_MODULES)
