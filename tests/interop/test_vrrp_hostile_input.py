"""Hostile input on the LAN: damaged and forged VRRP packets never delay the master's adverts.

A pair (VRRPv2, advert_int 1, PASS, r1 priority 200, r2 100) and an attacker on the same bridge sending
every kind of bad packet at 100 packets a second each for 20 s, while a client pings the VIP, and valid
lower-priority adverts from two addresses at the same rate. Our master must keep advertising on time (no
gap over advert_int + 10 ms), answer the valid ones at most once an interval, and the backup must never
take over. Debian's keepalived runs the same attack for the record: it re-arms its advert timer on every
packet it reads, so junk at the advert rate silences its master (its figures are printed, not judged).
"""

from __future__ import annotations

import shutil

from pykeepalived.lab.attacker import AttackOutcome, attack_pair

ATTACK_SECONDS = 20.0
ADVERT_INT = 1.0


def describe(name: str, outcome: AttackOutcome) -> str:
    master, backup = outcome.router("10.99.0.11"), outcome.router("10.99.0.12")
    return (
        f"{name}: {sum(outcome.report['sent'].values())} hostile packets in {ATTACK_SECONDS:g} s; master's adverts "
        f"{master['adverts']}, longest gap {master['longest_gap'] * 1000:.1f} ms; backup took over "
        f"{backup['advertising_starts']} times; client's longest wait {outcome.longest_ping_gap * 1000:.0f} ms"
    )


def test_junk_packets_never_delay_adverts_nor_cause_a_takeover() -> None:
    assert shutil.which("keepalived"), "Debian's keepalived must be installed (the README's test command does it)"
    ours = attack_pair(None, duration=ATTACK_SECONDS, advert_int=ADVERT_INT)
    theirs = attack_pair(["keepalived"], duration=ATTACK_SECONDS, advert_int=ADVERT_INT)
    print(f"\n{describe('pykeepalived', ours)}\n{describe('keepalived', theirs)}")
    master, backup = ours.router("10.99.0.11"), ours.router("10.99.0.12")
    assert all(count >= 100 * ATTACK_SECONDS * 0.9 for count in ours.report["sent"].values()), ours.report["sent"]
    assert backup["advertising_starts"] == 0, describe("pykeepalived", ours)
    assert master["longest_gap"] <= ADVERT_INT + 0.010, describe("pykeepalived", ours)
    # Valid lower-priority adverts are answered at most once an interval: no amplification.
    assert ATTACK_SECONDS / ADVERT_INT - 1 <= master["adverts"] <= 2 * ATTACK_SECONDS / ADVERT_INT + 2
    assert ours.holders_after == [1]
    assert ours.longest_ping_gap < 0.5, describe("pykeepalived", ours)
