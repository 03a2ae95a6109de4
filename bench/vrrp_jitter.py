"""Advert timing under CPU load: how far each advert strays from advert_int while both cores are busy.

One router (VRRPv3, advert_int 0.1 s, master alone) in a namespace lab; a client sniffs its adverts for
a fixed time while two busy-loop processes load both cores (bounded in time). keepalived and pykeepalived
in turn, same setup. Prints p50 / p99 / max of |interval - advert_int|. Not a pass/fail test.
"""

from __future__ import annotations

import argparse
import itertools
import json
import socket
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

from pykeepalived.lab.netns import Lab, vrrp_config

ADVERT_INT = 0.1
VIP = "10.99.1.1"
DAEMONS = {"keepalived": ["keepalived"], "pykeepalived": None}
SO_TIMESTAMPNS = 35
BURNER = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end: pass\n"


def sniff(seconds: float) -> None:
    """In the client namespace: print the kernel's arrival times of VRRP adverts as a JSON list.

    Kernel receive timestamps (SO_TIMESTAMPNS), so that the load does not delay the measurement itself.
    """
    sniffer = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    sniffer.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sniffer.settimeout(0.5)
    times: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            frame, ancillary, _, _ = sniffer.recvmsg(2048, socket.CMSG_SPACE(16))
        except TimeoutError:
            continue
        if frame[14 + 9] != 112 or frame[14 + 20 + 2] == 0:
            continue
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", data[:16])
                times.append(sec + nsec / 1e9)
    print(json.dumps(times))


def measure(daemon: str, seconds: float, load: bool, global_extra: str) -> list[float]:
    with Lab("pj", routers=1) as lab:
        router = lab.routers[0]
        config = vrrp_config(router, 200, VIP, 3, ADVERT_INT).replace("global_defs {", "global_defs {\n" + global_extra)
        lab.start_router(router, config, daemon=DAEMONS[daemon])
        if lab.wait_for_holder(VIP, 10, router) is None:
            raise RuntimeError(f"{daemon} did not become master")
        time.sleep(1)
        burners = [
            subprocess.Popen([sys.executable, "-c", BURNER.format(seconds=seconds + 2)])
            for _ in range(2 if load else 0)
        ]
        try:
            out = subprocess.run(
                ["ip", "netns", "exec", lab.client, sys.executable, str(Path(__file__)), "--sniff", str(seconds)],
                capture_output=True, text=True, timeout=seconds + 30, check=True,
            ).stdout  # fmt: skip
        finally:
            for burner in burners:
                burner.wait(timeout=seconds + 10)
    times = json.loads(out)
    return [abs(b - a - ADVERT_INT) for a, b in itertools.pairwise(times)]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--global", dest="global_extra", default="", help="extra global_defs line, both daemons")
    parser.add_argument("--sniff", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sniff is not None:
        sniff(args.sniff)
        return 0
    print(f"{'daemon':13} {'load':5} {'adverts':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}")
    for load in (False, True):
        for daemon in DAEMONS:
            errors = sorted(measure(daemon, args.seconds, load, args.global_extra))
            p99 = errors[min(len(errors) - 1, int(len(errors) * 0.99))]
            median = statistics.median(errors) * 1000
            print(f"{daemon:13} {'2 CPU' if load else 'idle':5} {len(errors):7d} {median:7.2f} "
                  f"{p99 * 1000:7.2f} {max(errors) * 1000:7.2f}", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
