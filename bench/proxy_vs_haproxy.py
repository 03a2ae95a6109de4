"""The userspace proxy and nftables data planes beside HAProxy 2.6 (`mode tcp`), on the same servers.

In a network namespace of its own (loopback only): nginx serves two real servers; HAProxy, the
pykeepalived proxy process (fed its table as the checker process feeds it) and the nftables rules
(the transaction the checker commits) each balance them round robin, and ApacheBench measures,
alternating between them, three workloads: small requests on kept-alive connections, a new connection
per request, and 1 MiB responses. Both userspace balancers get one CPU thread unless --proxy-workers and
--haproxy-threads say otherwise.
Needs `apt-get install haproxy nginx-light apache2-utils nftables`. Not a pass/fail test.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pykeepalived.daemon.proxy_worker import feed_line
from pykeepalived.lb.nftables import transaction
from pykeepalived.lb.table import Destination, DestinationKey, IpProtocol, Service, ServiceKey, Table

SERVERS = (18081, 18082)
HAPROXY_PORT, PROXY_PORT, NFTABLES_PORT = 18001, 18002, 18003
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
    nbthread {threads}
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


def table_line() -> bytes:
    """The table as the checker feeds it, with the shared-count slots."""
    proxied = table(PROXY_PORT)
    slots = {(key, member): slot for key, service in proxied.items() for slot, member in enumerate(service.members())}
    return feed_line(proxied, slots)


def table(port: int) -> Table:
    members = {DestinationKey("127.0.0.1", server): Destination(1) for server in SERVERS}
    return {ServiceKey(IpProtocol.TCP, "127.0.0.1", port): Service("rr", destinations=members)}


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
    parser.add_argument("--proxy-workers", type=int, default=1, help="proxy worker processes (SO_REUSEPORT)")
    parser.add_argument("--haproxy-threads", type=int, default=1)
    args = parser.parse_args()
    workloads = {name: WORKLOADS[name] for name in args.workload or WORKLOADS}
    for tool in ("haproxy", "nginx", "ab", "nft"):
        if shutil.which(tool) is None:
            print(f"{tool} is missing: apt-get install haproxy nginx-light apache2-utils nftables", file=sys.stderr)
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
        # The checker's side of the feed: the workers connect to it and are given the table.
        feed = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        feed.bind(str(work / "feed.sock"))
        feed.listen()
        feed.settimeout(10)
        sharing = ["--workers", str(args.proxy_workers), "--shared-counts", str(work / "counts"), "--pidfile", ""]
        connections = []
        for index in range(args.proxy_workers):
            processes.append(subprocess.Popen(
                in_namespace(namespace, sys.executable, "-m", "pykeepalived.daemon.proxy_worker", "--no-syslog",
                             "--feed", str(work / "feed.sock"), "--index", str(index), *sharing),
            ))  # fmt: skip
            connection, _ = feed.accept()
            connection.sendall(table_line())
            connections.append(connection)
        (work / "rules.json").write_text(json.dumps({"nftables": transaction(table(NFTABLES_PORT))}))
        subprocess.run(in_namespace(namespace, "nft", "-j", "-f", str(work / "rules.json")), check=True)
        contenders = {"HAProxy 2.6": HAPROXY_PORT, "proxy": PROXY_PORT, "nftables": NFTABLES_PORT}
        results: dict[str, dict[str, list[float]]] = {name: {c: [] for c in contenders} for name in workloads}
        for name, (path, options, count, concurrency) in workloads.items():
            splice = "option splice-auto" if path == "/big" else ""
            (work / "haproxy.cfg").write_text(HAPROXY.format(port=HAPROXY_PORT, a=SERVERS[0], b=SERVERS[1],
                                                             splice=splice, threads=args.haproxy_threads))  # fmt: skip
            haproxy = subprocess.Popen(in_namespace(namespace, "haproxy", "-db", "-f", str(work / "haproxy.cfg")))
            processes.append(haproxy)
            time.sleep(1.0)
            for _ in range(args.rounds):
                for contender, port in contenders.items():
                    results[name][contender].append(ab(namespace, port, path, options, count, concurrency))
            haproxy.terminate()
            haproxy.wait(timeout=10)
        unit = {"1 MiB responses": "KiB/s"}
        print(f"{'workload (median of ' + str(args.rounds) + ')':<36}", *(f"{c:>12}" for c in contenders), "   ratios")
        for name, by in results.items():
            medians = {contender: statistics.median(by[contender]) for contender in contenders}
            theirs = medians["HAProxy 2.6"]
            ratios = " ".join(f"{c} {medians[c] / theirs:.2f}x" for c in ("proxy", "nftables"))
            label = f"{name} ({unit.get(name, 'req/s')})"
            print(f"{label:<36}", *(f"{medians[c]:>12,.0f}" for c in contenders), f"   {ratios}")
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
