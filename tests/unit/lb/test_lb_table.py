"""The table's hand-over between processes, and plans against what a data plane reports."""

from __future__ import annotations

from pykeepalived.daemon.proxy_worker import feed_line, read_line
from pykeepalived.lb.dataplane import MemoryPlane
from pykeepalived.lb.table import (
    Destination,
    DestinationKey,
    IpProtocol,
    Service,
    ServiceKey,
    Table,
    plan,
)

TABLE: Table = {
    ServiceKey(IpProtocol.TCP, "10.99.1.1", 80): Service(
        "wrr",
        300,
        "255.255.255.0",
        {
            DestinationKey("10.99.0.12", 8080): Destination(3, "DR", 100, 10),
            DestinationKey("10.99.0.13", 8080): Destination(0),
        },
    ),
    ServiceKey(IpProtocol.UDP, "2001:db8:99::1", 53): Service("sh"),
    ServiceKey(IpProtocol.TCP, fwmark=7): Service(
        "rr", destinations={DestinationKey("10.99.0.14", 0): Destination(1, "TUN")}
    ),
}


SLOTS = {(ServiceKey(IpProtocol.TCP, "10.99.1.1", 80), DestinationKey("10.99.0.12", 8080)): 7}


def test_a_table_survives_the_trip_between_processes() -> None:
    assert read_line(feed_line(TABLE, SLOTS)) == (TABLE, SLOTS)


def test_a_data_plane_given_its_table_twice_plans_nothing_the_second_time() -> None:
    backend = MemoryPlane()
    backend.apply(plan(TABLE, backend.read()))
    assert plan(read_line(feed_line(TABLE, {}))[0], backend.read()) == []
