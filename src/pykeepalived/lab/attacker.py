"""A hostile host on a VRRP LAN: sends damaged and forged VRRP packets, and times the routers' adverts.

Every kind is invalid (a router must drop it and change nothing), except `lower-priority`: valid adverts of
priority 50 from two addresses in turn, which a master must not answer packet for packet.
Run inside a lab namespace. Each kind of packet goes out at `--rate` packets a second for `--duration`
seconds, as raw Ethernet frames (so any header can be damaged). Meanwhile it records every advert the
routers send, and prints one JSON line at the end: per router, its adverts, the longest gap between
two of them and how many times it started advertising after a silence (a takeover); per kind, how many
packets were sent. Stdlib and the codec only: it must run wherever the lab runs.
"""

from __future__ import annotations

import argparse
import ipaddress
import itertools
import json
import secrets
import select
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..vrrp.packet import AUTH_PASS, IPPROTO_VRRP, MCAST_GROUP4, Advert, encode, encode_ipv4, internet_checksum
from .netns import Lab, vrrp_config

ETH_P_IP = 0x0800
MULTICAST_MAC = bytes.fromhex("01005e000012")
# A higher priority than any router's: if a damaged packet were taken for an advert, it would win.
FORGED_PRIORITY = 250
# Two adverts this far apart (in advert intervals) are two stretches of mastership.
SILENCE_INTERVALS = 3
KINDS = (
    "bad-checksum",
    "ttl-64",
    "unicast-ttl-64",
    "wrong-auth",
    "wrong-vrid",
    "wrong-interval",
    "ip-options",
    "truncated",
    "lower-priority",
)
# Valid adverts of a lower priority from two sources in turn: a master must not answer each one.
LOWER_PRIORITY = 50


def mac_bytes(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def with_ip_options(packet: bytes) -> bytes:
    """The same IPv4 packet with four bytes of options (NOPs and an end of list): IHL 6."""
    header, payload = bytearray(packet[:20]), packet[20:]
    header[0] = 0x46
    struct.pack_into("!H", header, 2, len(packet) + 4)
    struct.pack_into("!H", header, 10, 0)
    header += b"\x01\x01\x01\x00"
    struct.pack_into("!H", header, 10, internet_checksum(bytes(header)))
    return bytes(header) + payload


class Forger:
    """Builds each kind of hostile packet for one VRRP group, as frames from `source`."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.source = ipaddress.IPv4Address(args.source)
        self.source_mac = mac_bytes(args.source_mac)
        self.master = ipaddress.IPv4Address(args.master)
        self.master_mac = mac_bytes(args.master_mac)
        self.vrid: int = args.vrid
        self.vips = tuple(ipaddress.IPv4Address(v) for v in args.vip)
        self.interval_cs = round(args.advert_int * 100)
        self.password: bytes = args.password.encode()[:8].ljust(8, b"\0") if args.password else bytes(8)
        self.auth_type = AUTH_PASS if args.password else 0
        self.ident = 0

    def advert(self, **changes: object) -> Advert:
        fields: dict[str, object] = {
            "version": 2,
            "vrid": self.vrid,
            "priority": FORGED_PRIORITY,
            "addresses": self.vips,
            "interval_cs": self.interval_cs,
            "auth_type": self.auth_type,
            "auth_data": self.password,
        }
        fields.update(changes)
        return Advert(**fields)  # type: ignore[arg-type]

    def frame(self, ip_packet: bytes, unicast: bool = False) -> bytes:
        destination = self.master_mac if unicast else MULTICAST_MAC
        return destination + self.source_mac + struct.pack("!H", ETH_P_IP) + ip_packet

    def packet(self, advert: Advert, destination: ipaddress.IPv4Address = MCAST_GROUP4, ttl: int = 255) -> bytes:
        self.ident += 1
        return encode_ipv4(encode(advert, self.source, destination), self.source, destination, self.ident, ttl)

    def bad_checksum(self) -> bytes:
        packet = bytearray(self.packet(self.advert()))
        packet[20 + 6] ^= 0xFF
        return self.frame(bytes(packet))

    def ttl_64(self) -> bytes:
        return self.frame(self.packet(self.advert(), ttl=64))

    def unicast_ttl_64(self) -> bytes:
        # What a sender beyond a router delivers: to the master's own address, TTL below 255.
        return self.frame(self.packet(self.advert(), self.master, ttl=64), unicast=True)

    def wrong_auth(self) -> bytes:
        return self.frame(self.packet(self.advert(auth_type=AUTH_PASS, auth_data=b"wrongpw!")))

    def wrong_vrid(self) -> bytes:
        return self.frame(self.packet(self.advert(vrid=(self.vrid % 255) + 1)))

    def wrong_interval(self) -> bytes:
        return self.frame(self.packet(self.advert(interval_cs=self.interval_cs * 2)))

    def ip_options(self) -> bytes:
        return self.frame(with_ip_options(self.packet(self.advert(auth_type=AUTH_PASS, auth_data=b"wrongpw!"))))

    def truncated(self) -> bytes:
        packet = bytearray(self.packet(self.advert()))
        del packet[20 + 12 :]
        struct.pack_into("!H", packet, 2, len(packet))
        return self.frame(bytes(packet))

    def lower_priority(self) -> bytes:
        source = self.source if self.ident % 2 else ipaddress.IPv4Address(int(self.source) + 100)
        self.ident += 1
        packet = encode_ipv4(encode(self.advert(priority=LOWER_PRIORITY), source, MCAST_GROUP4), source,
                             MCAST_GROUP4, self.ident)  # fmt: skip
        return self.frame(packet)

    def kinds(self) -> dict[str, Callable[[], bytes]]:
        makers: dict[str, Callable[[], bytes]] = {kind: getattr(self, kind.replace("-", "_")) for kind in KINDS}
        return makers


def advert_source(frame: bytes) -> tuple[str, int] | None:
    """(source address, priority) of a VRRP advert in an Ethernet frame, or None."""
    ip = frame[14:]
    if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != IPPROTO_VRRP:
        return None
    payload = ip[(ip[0] & 0x0F) * 4 :]
    if len(payload) < 3:
        return None
    return str(ipaddress.IPv4Address(ip[12:16])), payload[2]


def summarise(adverts: dict[str, list[float]], advert_int: float) -> dict[str, dict[str, float]]:
    summary = {}
    for router, times in adverts.items():
        gaps = [b - a for a, b in itertools.pairwise(times)]
        summary[router] = {
            "adverts": len(times),
            "longest_gap": max(gaps, default=0.0),
            "advertising_starts": 1 + sum(gap > SILENCE_INTERVALS * advert_int for gap in gaps) if times else 0,
        }
    return summary


def attack(args: argparse.Namespace) -> dict[str, object]:
    forger = Forger(args)
    makers = forger.kinds()
    kinds = args.kind or list(makers)
    sender = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sender.bind((args.interface, 0))
    sniffer = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    sniffer.bind((args.interface, 0))
    sniffer.setblocking(False)
    ours = str(forger.source)
    adverts: dict[str, list[float]] = {}
    sent = dict.fromkeys(kinds, 0)
    start = time.monotonic()
    end = start + args.duration
    step = 1.0 / args.rate
    next_send = start
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if now >= next_send:
            for kind in kinds:
                sender.send(makers[kind]())
                sent[kind] += 1
            next_send += step
        readable, _, _ = select.select([sniffer], [], [], max(0.0, min(next_send, end) - time.monotonic()))
        while readable:
            try:
                frame = sniffer.recv(2048)
            except BlockingIOError:
                break
            seen = advert_source(frame)
            if seen is not None and seen[0] != ours and seen[1] > 0:
                adverts.setdefault(seen[0], []).append(time.monotonic() - start)
    return {"sent": sent, "routers": summarise(adverts, args.advert_int), "duration": args.duration}


def attack_from(
    namespace: str,
    source: tuple[str, str],
    master: tuple[str, str],
    vip: str,
    advert_int: float,
    password: str,
    kinds: Sequence[str] = (),
    rate: float = 100.0,
    duration: float = 20.0,
) -> dict[str, Any]:
    """Run the attack from a lab namespace (`source` and `master` are (address, MAC)); its report."""
    command = [
        "ip", "netns", "exec", namespace, sys.executable, "-m", "pykeepalived.lab.attacker",
        "--source", source[0], "--source-mac", source[1], "--master", master[0], "--master-mac", master[1],
        "--vip", vip, "--advert-int", str(advert_int), "--password", password, "--rate", str(rate),
        "--duration", str(duration), *(f"--kind={kind}" for kind in kinds),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=duration + 30, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"the attacker failed: {result.stderr[-2000:]}")
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


@dataclass
class AttackOutcome:
    """What the attacker saw of a pair (r1 priority 200, r2 100), and what the client and the kernels saw."""

    report: dict[str, Any]
    # The client's longest wait for an answer from the VIP during the attack.
    longest_ping_gap: float
    holders_after: list[int]

    def router(self, address: str) -> dict[str, float]:
        figures: dict[str, float] = self.report["routers"].get(
            address, {"adverts": 0, "longest_gap": 0.0, "advertising_starts": 0}
        )
        return figures


def attack_pair(
    daemon: list[str] | None,
    kinds: Sequence[str] = (),
    duration: float = 20.0,
    rate: float = 100.0,
    advert_int: float = 1.0,
    password: str = "secret12",
) -> AttackOutcome:
    """A VRRPv2 pair with PASS authentication (pykeepalived, or `daemon`, e.g. keepalived) in a lab of its own,
    attacked from a third host of the LAN while a client pings the VIP."""
    vip = "10.99.1.1"
    auth = f"authentication {{\n    auth_type PASS\n    auth_pass {password}\n}}"
    with Lab(f"ph{secrets.token_hex(3)}", routers=3) as lab:
        first, second, attacker = lab.routers
        for router, priority in ((first, 200), (second, 100)):
            lab.start_router(router, vrrp_config(router, priority, vip, 2, advert_int, auth), daemon=daemon)
        if lab.wait_for_holder(vip, 3 * (3 * advert_int + 1) + 3, first) is not first:
            raise RuntimeError("r1 did not become the only holder of the VIP")
        prober = lab.start_prober(vip, duration=duration + 10)
        time.sleep(1.5)
        started = time.monotonic()
        report = attack_from(
            attacker.namespace,
            (attacker.address, attacker.mac),
            (first.address, first.mac),
            vip,
            advert_int,
            password,
            kinds,
            rate,
            duration,
        )
        return AttackOutcome(report, prober.longest_gap(started), [r.index for r in lab.holders(vip)])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interface", default="eth0")
    parser.add_argument("--source", required=True, help="this host's address")
    parser.add_argument("--source-mac", required=True)
    parser.add_argument("--master", required=True, help="the master's address (unicast packets go there)")
    parser.add_argument("--master-mac", required=True)
    parser.add_argument("--vrid", type=int, default=51)
    parser.add_argument("--vip", action="append", required=True)
    parser.add_argument("--advert-int", type=float, default=1.0)
    parser.add_argument("--password", default="")
    parser.add_argument("--kind", action="append", help="one kind of packet (repeatable); default: every kind")
    parser.add_argument("--rate", type=float, default=100.0, help="packets a second of each kind")
    parser.add_argument("--duration", type=float, default=20.0)
    args = parser.parse_args(argv)
    if not 0 < args.rate <= 1000 or not 0 < args.duration <= 300:
        parser.error("--rate must be in (0, 1000] and --duration in (0, 300]")
    print(json.dumps(attack(args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
