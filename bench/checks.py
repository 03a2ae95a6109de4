"""Checks per second from one checker process, CPU per check, and how late checks start.

N checkers (TCP_CHECK or HTTP_GET) against local asyncio servers on loopback, each on its delay_loop, for a
fixed time: completed checks per second, CPU seconds per check, and lateness (start time minus schedule)
percentiles. Also the memory of the checker process's model with 10,000 real servers configured.
Not a pass/fail test.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import time

from pykeepalived.io.probes import http, tcp
from pykeepalived.io.probes.base import Target
from pykeepalived.io.probes.http import UrlCheck

RESPONSE = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        await reader.read(1024)
        writer.write(RESPONSE)
        await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def run(kind: str, checkers: int, interval: float, seconds: float) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    target = Target("127.0.0.1", port, 2.0)
    lateness: list[float] = []
    done = 0
    failures = 0
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds

    async def checker(offset: float) -> None:
        nonlocal done, failures
        due = loop.time() + offset
        while due < end:
            await asyncio.sleep(max(0.0, due - loop.time()))
            lateness.append(loop.time() - due)
            if kind == "tcp":
                result = await tcp.check(target)
            else:
                result = await http.check(target, (UrlCheck("/"),), tls=False)
            done += 1
            failures += not result.ok
            due += interval

    cpu_before = time.process_time()
    started = loop.time()
    await asyncio.gather(*(checker(interval * i / checkers) for i in range(checkers)))
    elapsed = loop.time() - started
    cpu = time.process_time() - cpu_before
    server.close()
    lateness.sort()
    p99 = lateness[int(len(lateness) * 0.99)] if lateness else 0.0
    print(f"{kind:5} {checkers:6d} checkers every {interval:g} s: {done / elapsed:8.0f} checks/s "
          f"(target {checkers / interval:6.0f}), {failures} failed, CPU {cpu / max(done, 1) * 1e6:6.0f} us/check "
          f"(server included), lateness p50 {statistics.median(lateness) * 1000:6.2f} ms p99 {p99 * 1000:7.2f} ms",
          flush=True)  # fmt: skip


def model_memory(virtual_servers: int, per_server: int) -> None:
    """Resident memory for the configuration model and checker state of many real servers."""
    import tempfile
    from pathlib import Path

    from pykeepalived.config import load
    from pykeepalived.daemon.check_service import build
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
        _, runs = build(result.config)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"{virtual_servers * per_server} real servers ({len(runs)} checkers): model and policy state "
        f"{(after - before) / 1024:.0f} MiB (peak RSS {after / 1024:.0f} MiB)"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    model_memory(1000, 10)
    for kind, checkers, interval in (("tcp", 1000, 1.0), ("tcp", 5000, 1.0), ("http", 1000, 1.0), ("http", 3000, 1.0)):
        asyncio.run(run(kind, checkers, interval, args.seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
