"""libnftables' Python binding, found where Debian installs it when this Python cannot import it.

The binding is not on PyPI: Debian ships it as python3-nftables, built with libnftables1 from one source
(so the two always match), in Debian's dist-packages, which a virtual environment does not see. It is pure
Python over ctypes, so any Python 3 runs it: when `import nftables` fails, the package alone is loaded from
there (nothing else of that directory comes onto sys.path, so Debian's other packages cannot shadow the
virtual environment's).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType

from .errors import DataplaneUnavailable

DEBIAN_DIST_PACKAGES = ("/usr/lib/python3/dist-packages",)
INSTALL = "apt install python3-nftables"


def import_nftables(directories: Sequence[str] = DEBIAN_DIST_PACKAGES) -> ModuleType:
    """The `nftables` module: this Python's own, else the first of `directories` that holds the package."""
    try:
        return importlib.import_module("nftables")
    except ImportError as error:
        own_error = error
    for directory in directories:
        spec = importlib.machinery.PathFinder.find_spec("nftables", [directory])
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        # The package's __init__ imports its submodule relatively: it must be registered first.
        sys.modules["nftables"] = module
        try:
            spec.loader.exec_module(module)
        except (ImportError, SyntaxError) as error:
            del sys.modules["nftables"]
            raise DataplaneUnavailable(
                f"libnftables' Python binding in {directory} cannot be imported: {error}"
            ) from error
        return module
    tried = ", ".join(f"{directory}/nftables" for directory in directories)
    raise DataplaneUnavailable(
        f"libnftables' Python binding is missing: {sys.executable} cannot import nftables ({own_error}) and "
        f"there is none in {tried}: {INSTALL} (pykeepalived finds it there from any Python 3, "
        "a virtual environment too)"
    )
