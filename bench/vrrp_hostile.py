"""Each kind of hostile packet alone against pykeepalived and keepalived pairs: takeovers and advert gaps.

VRRPv2, advert_int 1, PASS; r1 priority 200, r2 100; an attacker on the LAN sends one kind of packet at
--rate a second for --duration seconds (lab/attacker.py). Prints a table; not a pass/fail test.
"""

from __future__ import annotations

import argparse

from pykeepalived.lab.attacker import KINDS, attack_pair

DAEMONS = {"pykeepalived": None, "keepalived": ["keepalived"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--kind", action="append", help="one kind (repeatable); default: every kind")
    args = parser.parse_args()
    kinds = args.kind or list(KINDS)
    print(f"{args.rate:g} packets/s for {args.duration:g} s of each kind; VRRPv2, advert_int 1 s")
    print(f"{'kind':16} {'daemon':13} {'takeovers':>9} {'longest advert gap':>19} {'master adverts':>15} "
          f"{'client wait':>12}")  # fmt: skip
    for kind in kinds:
        for name, daemon in DAEMONS.items():
            outcome = attack_pair(daemon, [kind], args.duration, args.rate)
            master, backup = outcome.router("10.99.0.11"), outcome.router("10.99.0.12")
            print(
                f"{kind:16} {name:13} {backup['advertising_starts']:>9} {master['longest_gap'] * 1000:>16.1f} ms "
                f"{master['adverts']:>15} {outcome.longest_ping_gap * 1000:>9.0f} ms",
                flush=True,
            )


if __name__ == "__main__":
    main()
