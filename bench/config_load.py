"""Config load time: 1,000 virtual servers x 10 real servers with HTTP_GET checks.

Prints our load time (read + build + checks; best and median of several runs) and, if Debian's
keepalived is installed, the time of `keepalived -t` on the same file. Not a pass/fail test.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pykeepalived.config import load
from pykeepalived.io.files import FileSystem

VIRTUAL_SERVERS = 1000
REAL_SERVERS = 10
RUNS = 5


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
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        result = load(str(path), FileSystem(), "bench", None)
        times.append(time.perf_counter() - start)
        assert result.config is not None and len(result.config.virtual_server) == VIRTUAL_SERVERS
        assert not result.diagnostics, result.diagnostics[:3]
    return times


def time_keepalived(path: Path) -> list[float] | None:
    keepalived = shutil.which("keepalived") or (
        "/usr/sbin/keepalived" if Path("/usr/sbin/keepalived").exists() else None
    )
    if keepalived is None:
        return None
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run([keepalived, "-t", "-f", str(path)], capture_output=True, check=False, timeout=300)
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "keepalived.conf"
        generate(path)
        lines = path.read_text().count("\n")
        print(f"config: {VIRTUAL_SERVERS} virtual servers x {REAL_SERVERS} real servers, HTTP_GET; {lines} lines")
        ours = time_ours(path)
        print(f"pykeepalived load: best {min(ours) * 1000:.0f} ms, median {statistics.median(ours) * 1000:.0f} ms")
        theirs = time_keepalived(path)
        if theirs is None:
            print("keepalived -t: not installed")
        else:
            print(
                f"keepalived -t:     best {min(theirs) * 1000:.0f} ms, median {statistics.median(theirs) * 1000:.0f} ms"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
