"""Run inside the IPVS guest (tests/uml_vm.py) by test_check_dump_file.py: keepalived's checker, then ours, on
one configuration, each signalled SIGUSR1 once its checks have settled; prints both keepalived_check.data files
as one JSON object. A web server answers for one real server; the other has nothing listening."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

SETTLE_SECONDS = 4
DUMP = Path("/tmp/keepalived_check.data")


def wait_for(path: Path, within: float) -> None:
    deadline = time.monotonic() + within
    while not path.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"{path} did not appear")
        time.sleep(0.05)


def checker_dump(command: list[str], config: Path, name: str) -> str:
    parent_pid, checker_pid = Path(f"/run/{name}.pid"), Path(f"/run/{name}.checkers.pid")
    daemon = subprocess.Popen(
        [*command, "-C", "-n", "-l", "-G", "-f", str(config), "-p", str(parent_pid), "-c", str(checker_pid)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(checker_pid, 20)
        time.sleep(SETTLE_SECONDS)
        DUMP.unlink(missing_ok=True)
        os.kill(int(parent_pid.read_text()), signal.SIGUSR1)
        wait_for(DUMP, 10)
        # keepalived writes the file in place.
        time.sleep(0.5)
        text = DUMP.read_text()
        DUMP.unlink()
        return text
    finally:
        daemon.terminate()
        daemon.wait(20)


def main() -> None:
    config = Path(sys.argv[1])
    web = subprocess.Popen(
        [sys.executable, "-m", "http.server", "8080", "--bind", "127.0.0.1", "--directory", "/"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(1)
        ours = [str(Path(sys.executable).with_name("pykeepalived")), "--dataplane", "ipvs"]
        found = {"keepalived": checker_dump(["keepalived"], config, "keepalived")}
        found["pykeepalived"] = checker_dump(ours, config, "pykeepalived")
    finally:
        web.terminate()
        web.wait(10)
    print(json.dumps(found))


if __name__ == "__main__":
    main()
