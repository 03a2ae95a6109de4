"""How long a virtual address lives in the kernel unless its master renews it.

keepalived leaves a killed daemon's addresses in place, so two hosts answer for them until it is
restarted. Ours carry a kernel lifetime that the master renews with its adverts, so a dead master's
addresses go by themselves. The lifetime must outlast every peer's master-down interval counted from
our last advert: a master that only stalls (SIGSTOP, CPU starvation, swap) must still hold its
addresses when a backup takes over, so that there is no instant without a holder. A peer's priority
is not known here, so its interval is bounded with the lowest priority (1), the longest skew; its
down_timer_adverts is taken to be ours (keepalived's default, 3, unless the pair sets it alike).

The kernel counts lifetimes in whole seconds and removes an expired address up to 0.25 s late (IPv4's
check_lifetime fuzz). So a dead master's address goes within ceil(longest master-down) + 0.25 s of
its last advert.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .instance import Action, AddAddresses, RemoveAddresses, SendAdvert

LOWEST_PRIORITY = 1
# Renew a little before a peer could time out, so a late timer never leaves the address short.
RENEW_MARGIN_S = 0.05


def longest_master_down(version: int, advert_int_cs: int, down_timer_adverts: int = 3) -> float:
    """The longest master-down interval any peer can have behind our adverts (RFC 5798, keepalived's skew)."""
    advert_int = advert_int_cs / 100
    skew = (256 - LOWEST_PRIORITY) / 256 * (advert_int if version == 3 else 1.0)
    return down_timer_adverts * advert_int + skew


@dataclass
class AddressLifetime:
    """When an instance's addresses expire, and when an advert must renew them."""

    longest_down: float
    seconds: int
    expires_at: float | None = None

    @classmethod
    def for_instance(cls, version: int, advert_int_cs: int, down_timer_adverts: int = 3) -> AddressLifetime:
        longest = longest_master_down(version, advert_int_cs, down_timer_adverts)
        return cls(longest, max(1, math.ceil(longest)))

    def renew_due(self, now: float) -> bool:
        """At an advert sent at `now`: would a peer that hears no more adverts outlive the addresses?"""
        return self.expires_at is None or self.expires_at - now < self.longest_down + RENEW_MARGIN_S

    def renewed(self, now: float) -> None:
        self.expires_at = now + self.seconds

    def released(self) -> None:
        self.expires_at = None

    def follow(self, actions: Sequence[Action], holding: bool, now: float) -> bool:
        """Keep up with what an instance just did (addresses added or removed, adverts sent); True when the
        adapter must send the addresses again to renew their lifetime."""
        for action in actions:
            if isinstance(action, AddAddresses):
                self.renewed(now)
            elif isinstance(action, RemoveAddresses):
                self.released()
        if holding and any(isinstance(a, SendAdvert) for a in actions) and self.renew_due(now):
            self.renewed(now)
            return True
        return False
