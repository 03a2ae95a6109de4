"""Config load time, beside Debian's keepalived 2.2.7 (issue 13's goals: -t on a small file <= 80 ms, the
large file <= 300 ms).

- `-t` on small files: `pykeepalived -t` and `keepalived -t` as processes, on each file of
  tests/interop/corpus (configurations of public deployments); the median over the files of each
  file's best of three runs.
- A large file, 1,000 virtual servers x 10 real servers with HTTP_GET checks (126,003 lines): our load time
  in the process (read + build + checks, as `-t` and the daemon load), `pykeepalived -t` and `keepalived -t`
  as processes; best and median of several runs.

Not a pass/fail test.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from pykeepalived.config import load
from pykeepalived.io.files import FileSystem

VIRTUAL_SERVERS = 1000
REAL_SERVERS = 10
RUNS = 5
SMALL_FILES = sorted((Path(__file__).resolve().parents[1] / "tests" / "interop" / "corpus").glob("*.conf"))
SMALL_RUNS = 3


def generate(path: Path) -> None:
    parts = ["global_defs {\n    router_id bench\n}\n"]
    for v in range(VIRTUAL_SERVERS):
        parts.append(
            f"virtual_server 10.{100 + v // 250}.{v % 250}.1 80 {{\n"
            "    delay_loop 6\n    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\n"
        )
        for r in range(REAL_SERVERS):
            parts.append(
                f"    real_server 10.99.{v % 250}.{r + 1} 8080 {{\n"
                "        weight 1\n"
                "        HTTP_GET {\n"
                "            url {\n                path /health\n                status_code 200\n            }\n"
                "            connect_timeout 3\n            retry 3\n            delay_before_retry 3\n"
                "        }\n    }\n"
            )
        parts.append("}\n")
    path.write_text("".join(parts), encoding="utf-8")


def time_ours(path: Path) -> list[float]:
    """Each run as the commands load (keep=True: the collector never scans the model), the previous run's
    model freed first, outside the timing."""
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        result = load(str(path), FileSystem(), "bench", None, keep=True)
        times.append(time.perf_counter() - start)
        assert result.config is not None and len(result.config.virtual_server) == VIRTUAL_SERVERS
        assert not result.diagnostics, result.diagnostics[:3]
        del result
    return times


def keepalived_binary() -> str | None:
    found = shutil.which("keepalived")
    if found is None and Path("/usr/sbin/keepalived").exists():
        found = "/usr/sbin/keepalived"
    return found


def ours_command(path: Path) -> list[str]:
    return [sys.executable, "-m", "pykeepalived.cli.daemon", "-t", "-f", str(path)]


def process_times(command: Sequence[str], runs: int) -> list[float]:
    # As installed: Python may cache the compiled modules (the environment may say otherwise).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False, timeout=300, env=env)
        times.append(time.perf_counter() - start)
    return times


def show(label: str, times: Sequence[float]) -> None:
    print(f"{label:<24} best {min(times) * 1000:4.0f} ms, median {statistics.median(times) * 1000:4.0f} ms")


def small_files(keepalived: str | None) -> None:
    process_times(ours_command(SMALL_FILES[0]), 1)  # compiles and caches the modules
    ours = [min(process_times(ours_command(path), SMALL_RUNS)) for path in SMALL_FILES]
    print(f"-t on {len(SMALL_FILES)} small files (tests/interop/corpus), median of each file's best of {SMALL_RUNS}:")
    print(f"  pykeepalived -t        {statistics.median(ours) * 1000:4.0f} ms")
    if keepalived is not None:
        theirs = [min(process_times([keepalived, "-t", "-f", str(path)], SMALL_RUNS)) for path in SMALL_FILES]
        print(f"  keepalived -t          {statistics.median(theirs) * 1000:4.0f} ms")


def main() -> int:
    keepalived = keepalived_binary()
    small_files(keepalived)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "keepalived.conf"
        generate(path)
        lines = path.read_text().count("\n")
        print(f"config: {VIRTUAL_SERVERS} virtual servers x {REAL_SERVERS} real servers, HTTP_GET; {lines} lines")
        show("  pykeepalived load", time_ours(path))
        show("  pykeepalived -t", process_times(ours_command(path), RUNS))
        if keepalived is None:
            print("  keepalived -t: not installed")
        else:
            show("  keepalived -t", process_times([keepalived, "-t", "-f", str(path)], RUNS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
