"""`pykeepalivedctl ipvsadm -Ln` prints ipvsadm 1.31's layout: scripts and ldirectord parse it."""

from __future__ import annotations

from pykeepalived.lb.listing import listing
from pykeepalived.lb.table import Destination, DestinationKey, Service, ServiceKey

HEADER = (
    "IP Virtual Server version 1.2.1 (size=4096)\n"
    "Prot LocalAddress:Port Scheduler Flags\n"
    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
)


def test_a_persistent_dr_service_as_published_from_a_real_ipvsadm() -> None:
    key = ServiceKey("tcp", "10.232.132.244", 80)
    members = {
        DestinationKey("10.232.132.170", 80): Destination(1, "DR"),
        DestinationKey("10.232.132.169", 80): Destination(1, "DR"),
    }
    counts = {key: {DestinationKey("10.232.132.170", 80): (2, 0)}}
    assert listing({key: Service("wrr", 50, None, members)}, counts) == HEADER + (
        "TCP  10.232.132.244:80 wrr persistent 50\n"
        "  -> 10.232.132.169:80            Route   1      0          0         \n"
        "  -> 10.232.132.170:80            Route   1      2          0         \n"
    )


def test_services_sort_as_libipvs_sorts_them_with_marks_last() -> None:
    table = {
        ServiceKey("TCP", fwmark=258): Service("rr", destinations={DestinationKey("10.99.0.10", 0): Destination(1)}),
        ServiceKey("UDP", "10.99.1.1", 53): Service(
            "sh", destinations={DestinationKey("10.99.0.15", 53): Destination(1)}
        ),
        ServiceKey("TCP", "2001:db8:99::1", 80): Service("lblcr", 60, "128"),
        ServiceKey("TCP", "10.99.1.2", 443): Service("wlc", 300, "255.255.255.0"),
        ServiceKey("TCP", "10.99.1.1", 80): Service(
            "rr", destinations={DestinationKey("10.99.0.12", 8080): Destination(0, "TUN")}
        ),
    }
    assert listing(table, {}) == HEADER + (
        "TCP  10.99.1.1:80 rr\n"
        "  -> 10.99.0.12:8080              Tunnel  0      0          0         \n"
        "TCP  10.99.1.2:443 wlc persistent 300 mask 255.255.255.0\n"
        "UDP  10.99.1.1:53 sh\n"
        "  -> 10.99.0.15:53                Masq    1      0          0         \n"
        "TCP  [2001:db8:99::1]:80 lblcr persistent 60\n"
        "FWM  258 rr\n"
        "  -> 10.99.0.10:0                 Masq    1      0          0         \n"
    )
