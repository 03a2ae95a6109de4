"""The Prometheus page and `pykeepalivedctl status` with 255 VRRP instances and 1,000 real servers: page size and
scrape time, from a client in the daemon's namespace. Not a pass/fail test.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time

from pykeepalived.lab.netns import Lab

PORT = 9651
INSTANCES = 255
VIRTUAL_SERVERS, REAL_SERVERS = 100, 10
SCRAPES = 20
SCRAPER = f"""
import json, time, urllib.request
times, size = [], 0
for _ in range({SCRAPES}):
    started = time.perf_counter()
    page = urllib.request.urlopen('http://127.0.0.1:{PORT}/metrics', timeout=30).read()
    times.append(time.perf_counter() - started)
    size = len(page)
print(json.dumps({{"times": times, "size": size, "samples": sum(1 for line in page.splitlines()
                                                                  if line and not line.startswith(b"#"))}}))
"""


def config() -> str:
    parts = []
    for vrid in range(1, INSTANCES + 1):
        vip = f"10.99.{100 + vrid // 250}.{vrid % 250 + 1}"
        parts.append(
            f"vrrp_instance VI_{vrid} {{\n state BACKUP\n interface eth0\n virtual_router_id {vrid}\n priority 150\n"
            f" advert_int 1\n version 3\n virtual_ipaddress {{\n  {vip}/32\n }}\n}}\n"
        )
    for service in range(VIRTUAL_SERVERS):
        reals = "".join(
            f" real_server 10.99.{20 + service // 25}.{(service % 25) * 10 + real + 1} 8080 {{\n"
            "  TCP_CHECK {\n   connect_timeout 1\n  }\n }\n"
            for real in range(REAL_SERVERS)
        )
        parts.append(
            f"virtual_server 10.99.2.{service + 1} 80 {{\n delay_loop 5\n lb_algo rr\n lb_kind NAT\n protocol TCP\n"
            f"{reals}}}\n"
        )
    return "".join(parts)


def main() -> int:
    with Lab(f"pm{secrets.token_hex(3)}", routers=1) as lab:
        router = lab.routers[0]
        checkers = str(lab.workdir / "r1.check.pid")
        lab.start_router(router, config(), "-C", "-c", checkers, "--dataplane", "memory", "--metrics",
                         f"127.0.0.1:{PORT}")  # fmt: skip
        deadline = time.monotonic() + 120
        while len(lab.holders("10.99.101.6")) != 1:  # the last instance's VIP
            if time.monotonic() > deadline:
                print("the instances did not all become MASTER", file=sys.stderr)
                return 1
            time.sleep(0.5)
        time.sleep(6)  # every real server checked once
        namespace = ["ip", "netns", "exec", router.namespace]
        scraped = json.loads(subprocess.run([*namespace, sys.executable, "-c", SCRAPER], capture_output=True,
                                            text=True, check=True, timeout=600).stdout)  # fmt: skip
        times = sorted(scraped["times"])
        started = time.perf_counter()
        status = subprocess.run([*namespace, sys.executable, "-m", "pykeepalived.cli.ctl", "status", "--json", "-p",
                                 str(lab.workdir / "r1.pid")], capture_output=True, text=True, check=True)  # fmt: skip
        status_seconds = time.perf_counter() - started
    print(f"{INSTANCES} instances, {VIRTUAL_SERVERS * REAL_SERVERS} real servers")
    print(
        f"/metrics: {scraped['size'] / 1024:.0f} KiB, {scraped['samples']} samples; scrape median "
        f"{times[len(times) // 2] * 1000:.0f} ms, slowest {times[-1] * 1000:.0f} ms ({SCRAPES} scrapes)"
    )
    print(
        f"pykeepalivedctl status --json: {len(status.stdout) / 1024:.0f} KiB in {status_seconds * 1000:.0f} ms "
        "(the command's start included)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
