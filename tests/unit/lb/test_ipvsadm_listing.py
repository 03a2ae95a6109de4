"""`pykeepalivedctl ipvsadm -Ln` prints ipvsadm 1.31's layout: scripts and ldirectord parse it."""

from __future__ import annotations

from pathlib import Path

from pykeepalived.io.ipvs import read_connections
from pykeepalived.lb.listing import connection_listing, listing
from pykeepalived.lb.table import Destination, DestinationKey, IpProtocol, Service, ServiceKey

HEADER = (
    "IP Virtual Server version 1.2.1 (size=4096)\n"
    "Prot LocalAddress:Port Scheduler Flags\n"
    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
)


def test_a_persistent_dr_service_as_published_from_a_real_ipvsadm() -> None:
    key = ServiceKey(IpProtocol.TCP, "10.232.132.244", 80)
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
        ServiceKey(IpProtocol.TCP, fwmark=258): Service(
            "rr", destinations={DestinationKey("10.99.0.10", 0): Destination(1)}
        ),
        ServiceKey(IpProtocol.UDP, "10.99.1.1", 53): Service(
            "sh", destinations={DestinationKey("10.99.0.15", 53): Destination(1)}
        ),
        ServiceKey(IpProtocol.TCP, "2001:db8:99::1", 80): Service("lblcr", 60, "128"),
        ServiceKey(IpProtocol.TCP, "10.99.1.2", 443): Service("wlc", 300, "255.255.255.0"),
        ServiceKey(IpProtocol.TCP, "10.99.1.1", 80): Service(
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


PROC_CONNECTIONS = """Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP 0A630132 B886 0A630064 0050 0A63000C 1F90 ESTABLISHED    7199
UDP 0A630132 0035 0A630064 0035 0A63000B 0035 UDP             287
TCP fd00:0000:0000:0000:0000:0000:0000:0050 C000 fd00:0000:0000:0000:0000:0000:0000:0100 01BB \
fd00:0000:0000:0000:0000:0000:0000:0011 01BB FIN_WAIT         61
"""


def test_connections_read_from_the_kernel_are_listed_as_ipvsadm_lists_them(tmp_path: Path) -> None:
    proc = tmp_path / "ip_vs_conn"
    proc.write_text(PROC_CONNECTIONS)
    assert connection_listing(read_connections(str(proc))) == (
        "IPVS connection entries\n"
        "pro expire state       source             virtual            destination\n"
        "TCP 119:59 ESTABLISHED 10.99.1.50:47238   10.99.0.100:80     10.99.0.12:8080\n"
        "UDP 04:47  UDP         10.99.1.50:53      10.99.0.100:53     10.99.0.11:53\n"
        "TCP 01:01  FIN_WAIT    [fd00::50]:49152   [fd00::100]:443    [fd00::11]:443\n"
    )
