"""IPVS persistence as the proxy keeps it: per client network, for the timeout, forgotten with its server."""

from __future__ import annotations

from pykeepalived.lb.persistence import Persistence
from pykeepalived.lb.table import DestinationKey

A, B = DestinationKey("10.99.0.12", 80), DestinationKey("10.99.0.13", 80)


def test_a_client_comes_back_to_its_server_within_the_timeout() -> None:
    persistence = Persistence(300, None)
    persistence.remember("192.0.2.10", A, now=0.0)
    assert persistence.lookup("192.0.2.10", now=299.9) == A
    assert persistence.lookup("192.0.2.10", now=300.0) is None
    assert persistence.lookup("192.0.2.11", now=1.0) is None


def test_the_granularity_groups_clients() -> None:
    ipv4 = Persistence(60, "255.255.255.0")
    ipv4.remember("192.0.2.10", A, now=0.0)
    assert ipv4.lookup("192.0.2.200", now=1.0) == A
    assert ipv4.lookup("198.51.100.1", now=1.0) is None
    ipv6 = Persistence(60, "64")
    ipv6.remember("2001:db8::1", B, now=0.0)
    assert ipv6.lookup("2001:db8::ffff:1", now=1.0) == B
    assert ipv6.lookup("2001:db8:1::1", now=1.0) is None


def test_a_server_that_leaves_is_forgotten_and_expired_clients_are_swept() -> None:
    persistence = Persistence(10, None)
    persistence.remember("192.0.2.10", A, now=0.0)
    persistence.remember("192.0.2.11", B, now=0.0)
    persistence.forget(A)
    assert persistence.lookup("192.0.2.10", now=1.0) is None
    assert persistence.lookup("192.0.2.11", now=1.0) == B
    for n in range(5000):
        persistence.remember(f"10.99.{n // 250}.{n % 250}", A, now=100.0)
    assert "192.0.2.11" not in persistence.clients
