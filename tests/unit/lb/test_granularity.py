"""A persistence granularity, read once for every data plane and listing: a netmask (solid or not) for IPv4,
a prefix length for IPv6, nothing for one written for the other family."""

from __future__ import annotations

import ipaddress

from pykeepalived.lb.granularity import client_mask, mask_text, masked, normalized


def test_ipv4_masks_and_ipv6_prefixes() -> None:
    assert client_mask("255.255.255.0", 4) == 0xFFFFFF00
    assert client_mask("255.0.255.0", 4) == 0xFF00FF00  # IPVS ands the mask as it is
    assert client_mask("64", 6) == ((1 << 64) - 1) << 64
    assert mask_text(client_mask("64", 6) or 0, 6) == "ffff:ffff:ffff:ffff::"


def test_one_address_per_client_when_the_granularity_is_full_absent_or_of_the_other_family() -> None:
    for granularity, version in ((None, 4), ("255.255.255.255", 4), ("128", 6), ("64", 4), ("255.255.0.0", 6)):
        assert client_mask(granularity, version) is None
        assert normalized(granularity, version) is None


def test_listed_as_ipvsadm_lists_it_and_applied_to_clients() -> None:
    assert normalized("255.255.0.0", 4) == "255.255.0.0"
    assert normalized("48", 6) == "48"
    assert masked(ipaddress.ip_address("192.0.2.77"), client_mask("255.255.255.0", 4)) == "192.0.2.0"
    assert masked(ipaddress.ip_address("2001:db8::1"), None) == "2001:db8::1"
