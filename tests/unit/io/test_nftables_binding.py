"""libnftables' binding is found where Debian installs it when the Python running pykeepalived cannot import
it (a virtual environment, another Python 3): a temporary directory holding a copy of Debian's package stands
in for Debian's dist-packages, in a Python started without any site-packages."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pykeepalived
from pykeepalived.io.nftables_binding import DEBIAN_DIST_PACKAGES

SOURCES = str(Path(pykeepalived.__file__).parents[1])
DEBIAN_BINDING = Path(DEBIAN_DIST_PACKAGES[0]) / "nftables"
# Run with -S: no site-packages at all, so `import nftables` fails as in a bare virtual environment.
LOAD = """
import json, sys
from pykeepalived.io.errors import DataplaneUnavailable
from pykeepalived.io.nftables_binding import import_nftables
try:
    module = import_nftables(sys.argv[1:])
except DataplaneUnavailable as error:
    print(json.dumps({"error": str(error)}))
else:
    library = module.Nftables()  # loads libnftables itself through ctypes
    print(json.dumps({"file": module.__file__, "library": type(library).__name__, "path": sys.path}))
"""


def load(*directories: str) -> dict[str, object]:
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": SOURCES}
    command = [sys.executable, "-S", "-c", LOAD, *directories]
    result = subprocess.run(command, capture_output=True, text=True, env=environment, check=True)
    loaded: dict[str, object] = json.loads(result.stdout)
    return loaded


def test_debian_binding_is_installed_for_these_tests() -> None:
    assert (DEBIAN_BINDING / "nftables.py").is_file(), "apt install python3-nftables (scripts/run.sh does)"


def test_without_an_importable_binding_the_package_is_loaded_from_the_dist_packages_directory(tmp_path: Path) -> None:
    dist_packages = tmp_path / "dist-packages"
    shutil.copytree(DEBIAN_BINDING, dist_packages / "nftables", ignore=shutil.ignore_patterns("__pycache__"))
    loaded = load(str(tmp_path / "absent"), str(dist_packages))
    assert loaded["file"] == str(dist_packages / "nftables" / "__init__.py")
    assert loaded["library"] == "Nftables"
    # The package alone: the directory itself does not come onto sys.path.
    assert isinstance(loaded["path"], list) and str(dist_packages) not in loaded["path"]


def test_without_any_binding_the_message_names_what_was_tried_and_the_package_to_install(tmp_path: Path) -> None:
    loaded = load(str(tmp_path))
    message = str(loaded["error"])
    assert "cannot import nftables (No module named 'nftables')" in message
    assert f"there is none in {tmp_path}/nftables: apt install python3-nftables" in message
