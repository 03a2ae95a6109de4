"""Checks per second from one checker process, CPU per check, and how late checks start.

N checkers (TCP_CHECK or HTTP_GET), each on its delay_loop, scheduled the way the checker process does it
(a timer per checker, callback probes, uvloop when installed), against a local server in another process
(a plain blocking accept loop, so the CPU figure is the checker's alone). Prints checks/s, CPU per check,
lateness percentiles, and the memory of the model and policy state with 10,000 real servers configured.
Not a pass/fail test.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pykeepalived.daemon.process import event_loop_factory
from pykeepalived.io.probes import fast
from pykeepalived.io.probes.base import Result, Target
from pykeepalived.io.probes.http import UrlCheck

SERVER = """
import socket, sys, time
RESPONSE = b"HTTP/1.0 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok"
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(65535)
print(listener.getsockname()[1], flush=True)
listener.settimeout(1.0)
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    try:
        connection, _ = listener.accept()
    except TimeoutError:
        continue
    try:
        if connection.recv(1024):
            connection.sendall(RESPONSE)
    except OSError:
        pass
    connection.close()
"""


async def run(kind: str, checkers: int, interval: float, seconds: float, port: int) -> None:
    loop = asyncio.get_running_loop()
    target = Target("127.0.0.1", port, 2.0)
    url = UrlCheck("/")
    lateness: list[float] = []
    counts = {"done": 0, "failed": 0}
    end = loop.time() + seconds
    finished = loop.create_future()
    active = {"checkers": checkers}

    def schedule(due: float) -> None:
        if due >= end:
            active["checkers"] -= 1
            if not active["checkers"] and not finished.done():
                finished.set_result(None)
            return
        loop.call_at(due, fire, due)

    def fire(due: float) -> None:
        lateness.append(loop.time() - due)

        def done(result: Result) -> None:
            counts["done"] += 1
            counts["failed"] += not result.ok
            schedule(due + interval)

        if kind == "tcp":
            fast.tcp_check(target, done)
        else:
            fast.http_check(target, url, "127.0.0.1", "1.0", done)

    cpu_before = time.process_time()
    started = loop.time()
    for i in range(checkers):
        schedule(started + interval * i / checkers)
    await finished
    elapsed = loop.time() - started
    cpu = time.process_time() - cpu_before
    lateness.sort()
    p99 = lateness[int(len(lateness) * 0.99)]
    print(f"{kind:5} {checkers:6d} checkers every {interval:g} s: {counts['done'] / elapsed:7.0f} checks/s "
          f"({counts['failed']} failed), checker CPU {cpu / max(counts['done'], 1) * 1e6:5.1f} us/check, "
          f"lateness p50 {statistics.median(lateness) * 1000:5.2f} ms p99 {p99 * 1000:6.2f} ms",
          flush=True)  # fmt: skip


def model_memory(virtual_servers: int, per_server: int) -> None:
    """Resident memory for the configuration model and checker state of many real servers."""
    from pykeepalived.config import load
    from pykeepalived.daemon.checkers import build
    from pykeepalived.io.files import FileSystem

    parts = []
    for v in range(virtual_servers):
        parts.append(f"virtual_server 10.{100 + v // 250}.{v % 250}.1 80 {{\n delay_loop 5\n lb_algo rr\n")
        for r in range(per_server):
            parts.append(
                f" real_server 10.99.{v % 250}.{r + 1} 80 {{\n  TCP_CHECK {{\n   connect_timeout 2\n  }}\n }}\n"
            )
        parts.append("}\n")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "keepalived.conf"
        path.write_text("".join(parts))
        result = load(str(path), FileSystem(), "bench", None)
        assert result.config is not None
        _, runs = build(result.config, lambda checker: None)  # the bench has no MISC_CHECK
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"{virtual_servers * per_server} real servers ({len(runs)} checkers): model and policy state "
        f"{(after - before) / 1024:.0f} MiB (peak RSS {after / 1024:.0f} MiB)"
    )


LOOP = event_loop_factory()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    model_memory(1000, 10)
    runs = (("tcp", 10000, 1.0), ("tcp", 25000, 1.0), ("http", 10000, 1.0), ("http", 15000, 1.0))
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(args.seconds * len(runs) + 30)],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        for kind, checkers, interval in runs:
            with asyncio.Runner(loop_factory=LOOP) as runner:
                runner.run(run(kind, checkers, interval, args.seconds, port))
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
