"""A dump or reload signal sent the moment a pidfile appears is served, never fatal: scripts signal a process
as soon as they can read its pid, before its event loop has installed any handler."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHECKER_CONFIG = """virtual_server 127.0.0.1 18080 {
    delay_loop 60
    real_server 127.0.0.1 18081 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
"""


def wait_for(path: Path, within: float) -> None:
    deadline = time.monotonic() + within
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.001)


@pytest.mark.parametrize("process", ["check_service", "proxy_worker"])
def test_signals_sent_as_soon_as_the_pidfile_exists(process: str, tmp_path: Path) -> None:
    config = tmp_path / "keepalived.conf"
    config.write_text(CHECKER_CONFIG)
    pidfile = tmp_path / "child.pid"
    dump = Path("/tmp/pykeepalived_check.stats" if process == "check_service" else "/tmp/pykeepalived_proxy.stats")
    dump.unlink(missing_ok=True)
    arguments = ["--pidfile", str(pidfile), "--no-syslog"]
    if process == "check_service":
        arguments += ["--config", str(config), "--dataplane", "memory"]
    child = subprocess.Popen(
        [sys.executable, "-m", f"pykeepalived.daemon.{process}", *arguments],
        stdin=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(pidfile, within=10)
        for signum in (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
            os.kill(child.pid, signum)
        wait_for(dump, within=10)
        assert isinstance(json.loads(dump.read_text()), dict)
        assert child.poll() is None
    finally:
        child.terminate()
        child.wait(10)
        dump.unlink(missing_ok=True)
    assert child.returncode == 0
