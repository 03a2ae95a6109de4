"""The userspace proxy data plane beside HAProxy 2.6 (`mode tcp`), on the same machine and the same servers.

In a network namespace of its own (loopback only): nginx serves two real servers, HAProxy and the
pykeepalived proxy process (fed its table as the checker process feeds it) each balance them round robin,
and ApacheBench measures, alternating between the two, three workloads: small requests on kept-alive
connections, a new connection per request, and 1 MiB responses. Both balancers get one CPU thread.
Needs `apt-get install haproxy nginx-light apache2-utils`. Not a pass/fail test.
"""

from __future__ import annotations

import argparse
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pykeepalived.lb.table import Destination, DestinationKey, Service, ServiceKey, table_to_json

SERVERS = (18081, 18082)
HAPROXY_PORT, PROXY_PORT = 18001, 18002
WORKLOADS = {
    "small requests, kept alive": ("/", ["-k"], 40_000, 50),
    "new connection per request": ("/", [], 10_000, 50),
    "1 MiB responses": ("/big", [], 400, 8),
}

NGINX = """
daemon off;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx.err;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    server {{ listen 127.0.0.1:{a}; root {work}/www; location = / {{ return 200 "ok"; }} }}
    server {{ listen 127.0.0.1:{b}; root {work}/www; location = / {{ return 200 "ok"; }} }}
}}
"""

HAPROXY = """
global
    nbthread 1
    maxconn 4000
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    {splice}
frontend vip
    bind 127.0.0.1:{port}
    default_backend reals
backend reals
    balance roundrobin
    server a 127.0.0.1:{a}
    server b 127.0.0.1:{b}
"""


def table_line() -> str:
    members = {DestinationKey("127.0.0.1", port): Destination(1) for port in SERVERS}
    return table_to_json({ServiceKey("TCP", "127.0.0.1", PROXY_PORT): Service("rr", destinations=members)}) + "\n"


def in_namespace(namespace: str, *command: str) -> list[str]:
    return ["ip", "netns", "exec", namespace, *command]


def ab(namespace: str, port: int, path: str, options: list[str], count: int, concurrency: int) -> float:
    """Requests/s (or KiB/s for large responses) from one bounded ApacheBench run."""
    out = subprocess.run(
        in_namespace(namespace, "ab", "-q", "-r", "-s", "10", "-t", "60", "-n", str(count), "-c", str(concurrency),
                     *options, f"http://127.0.0.1:{port}{path}"),
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    failed = re.search(r"Failed requests:\s+(\d+)", out)
    if (failed and int(failed.group(1))) or "Non-2xx responses" in out:
        raise RuntimeError(f"ab reports failed requests:\n{out}")
    pattern = r"Transfer rate:\s+([\d.]+)" if path == "/big" else r"Requests per second:\s+([\d.]+)"
    found = re.search(pattern, out)
    if not found:
        raise RuntimeError(f"unexpected ab output:\n{out}")
    return float(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workload", choices=sorted(WORKLOADS), action="append", help="default: all of them")
    args = parser.parse_args()
    workloads = {name: WORKLOADS[name] for name in args.workload or WORKLOADS}
    for tool in ("haproxy", "nginx", "ab"):
        if shutil.which(tool) is None:
            print(f"{tool} is missing: apt-get install haproxy nginx-light apache2-utils", file=sys.stderr)
            return 2
    namespace = f"pb{secrets.token_hex(3)}"
    work = Path(tempfile.mkdtemp(prefix=f"{namespace}-"))
    work.chmod(0o755)  # nginx's workers run unprivileged
    (work / "www").mkdir()
    (work / "www" / "big").write_bytes(secrets.token_bytes(1 << 20))
    (work / "nginx.conf").write_text(NGINX.format(work=work, a=SERVERS[0], b=SERVERS[1]))
    processes: list[subprocess.Popen[bytes]] = []
    subprocess.run(["ip", "netns", "add", namespace], check=True)
    try:
        subprocess.run(["ip", "-n", namespace, "link", "set", "lo", "up"], check=True)
        processes.append(subprocess.Popen(in_namespace(namespace, "nginx", "-c", str(work / "nginx.conf"))))
        proxy = subprocess.Popen(
            in_namespace(namespace, sys.executable, "-m", "pykeepalived.daemon.proxy_worker", "--no-syslog"),
            stdin=subprocess.PIPE,
        )
        processes.append(proxy)
        assert proxy.stdin is not None
        proxy.stdin.write(table_line().encode())
        proxy.stdin.flush()
        results: dict[str, dict[str, list[float]]] = {name: {"haproxy": [], "pykeepalived": []} for name in workloads}
        for name, (path, options, count, concurrency) in workloads.items():
            splice = "option splice-auto" if path == "/big" else ""
            (work / "haproxy.cfg").write_text(HAPROXY.format(port=HAPROXY_PORT, a=SERVERS[0], b=SERVERS[1],
                                                             splice=splice))  # fmt: skip
            haproxy = subprocess.Popen(in_namespace(namespace, "haproxy", "-db", "-f", str(work / "haproxy.cfg")))
            processes.append(haproxy)
            time.sleep(1.0)
            for _ in range(args.rounds):
                results[name]["haproxy"].append(ab(namespace, HAPROXY_PORT, path, options, count, concurrency))
                results[name]["pykeepalived"].append(ab(namespace, PROXY_PORT, path, options, count, concurrency))
            haproxy.terminate()
            haproxy.wait(timeout=10)
        unit = {"1 MiB responses": "KiB/s"}
        print(f"{'workload':<30} {'HAProxy 2.6':>14} {'pykeepalived':>14} {'ratio':>7}   (median of {args.rounds})")
        for name, by in results.items():
            theirs, ours = statistics.median(by["haproxy"]), statistics.median(by["pykeepalived"])
            label = f"{name} ({unit.get(name, 'req/s')})"
            print(f"{label:<30} {theirs:>14,.0f} {ours:>14,.0f} {ours / theirs:>7.2f}")
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        subprocess.run(["ip", "netns", "del", namespace], check=False)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
