"""The virtual addresses' kernel lifetime: longer than any peer's master-down interval, renewed by adverts."""

from __future__ import annotations

import pytest

from pykeepalived.vrrp.lifetime import AddressLifetime, longest_master_down


@pytest.mark.parametrize(
    ("version", "advert_int_cs", "seconds"),
    [(2, 100, 4), (3, 100, 4), (3, 10, 1), (3, 5, 1), (2, 300, 10), (3, 250, 10)],
)
def test_the_lifetime_is_the_longest_master_down_interval_rounded_up(
    version: int, advert_int_cs: int, seconds: int
) -> None:
    lifetime = AddressLifetime.for_instance(version, advert_int_cs)
    assert lifetime.seconds == seconds
    assert lifetime.seconds >= longest_master_down(version, advert_int_cs)


@pytest.mark.parametrize(("version", "advert_int_cs"), [(2, 100), (3, 100), (3, 10), (3, 5), (2, 250)])
def test_after_every_advert_the_address_outlives_any_peers_master_down_interval(
    version: int, advert_int_cs: int
) -> None:
    lifetime = AddressLifetime.for_instance(version, advert_int_cs)
    renewals = 0
    for n in range(1000):
        now = n * advert_int_cs / 100
        if lifetime.renew_due(now):
            lifetime.renewed(now)
            renewals += 1
        assert lifetime.expires_at is not None
        assert lifetime.expires_at - now >= longest_master_down(version, advert_int_cs)
        assert lifetime.expires_at - now <= lifetime.seconds + 1e-9
    if advert_int_cs <= 10:
        # Short intervals renew every few adverts, not at each one.
        assert renewals < 1000 / 4
