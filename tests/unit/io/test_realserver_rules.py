"""The real-server command's rules that need no kernel: sysctl names, which values setup leaves alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from pykeepalived.io.realserver import RealServerError, canonical_vips, ipv4_conf, needs_change, sysctl_name


def test_sysctl_names_are_sysctls_own_with_a_dot_in_an_interface_name_as_a_slash() -> None:
    assert sysctl_name(ipv4_conf("all", "arp_ignore")) == "net.ipv4.conf.all.arp_ignore"
    assert sysctl_name(Path("/proc/sys/net/ipv4/conf/eth0.100/arp_announce")) == "net.ipv4.conf.eth0/100.arp_announce"


def test_setup_leaves_what_already_answers_less_and_relaxes_only_a_strict_rp_filter() -> None:
    # arp_ignore: 0 answers for every local address; 2, 3 and 8 answer less than the 1 setup wants.
    assert [needs_change(value, 1, "ignore") for value in (0, 1, 2, 3, 8)] == [True, False, False, False, False]
    assert [needs_change(value, 2, "announce") for value in (0, 1, 2)] == [True, True, False]
    # rp_filter: only strict (1) drops the tunnelled packets; loose (2) and off (0) let them in.
    assert [needs_change(value, 0, "rp_filter") for value in (0, 1, 2)] == [False, True, False]


def test_vips_are_written_as_the_kernel_writes_them_and_a_bad_one_is_named() -> None:
    assert canonical_vips(["10.99.1.1", "2001:DB8:1:0::1"]) == ["10.99.1.1", "2001:db8:1::1"]
    with pytest.raises(RealServerError, match=r"--vip 10\.99\.1: not an IPv4 or IPv6 address"):
        canonical_vips(["10.99.1"])
