"""Servers the tests run: a free loopback port, a web server inside a lab router's namespace."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from pykeepalived.cli.lab import Lab, Router


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_web_server(lab: Lab, router: Router, root: Path) -> subprocess.Popen[bytes]:
    """Python's http.server on the router's address, port 8080, serving `root`; the lab stops it."""
    process = subprocess.Popen(
        ["ip", "netns", "exec", router.namespace, sys.executable, "-m", "http.server", "8080", "--bind",
         router.address, "--directory", str(root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    lab.started.append(process)
    return process
