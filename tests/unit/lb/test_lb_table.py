"""The table's hand-over between processes, and plans against what a data plane reports."""

from __future__ import annotations

from pykeepalived.daemon.proxy_worker import feed_line, read_line
from pykeepalived.lb.dataplane import MemoryPlane
from pykeepalived.lb.table import (
    AddDestination,
    Destination,
    DestinationKey,
    IpProtocol,
    Service,
    ServiceKey,
    Table,
    TableMirror,
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


def test_a_data_plane_adopts_only_the_services_it_manages() -> None:
    ours, foreign = ServiceKey(IpProtocol.TCP, "10.99.1.1", 80), ServiceKey(IpProtocol.TCP, "10.99.1.2", 80)
    server = DestinationKey("10.99.0.11", 8080)
    mirror = TableMirror()
    found = {ours: Service("rr", destinations={server: Destination(1)}), foreign: Service("rr")}
    assert mirror.adopt(found, {ours}) == {ours: found[ours]}
    # Later operations on an adopted service start from what the data plane held.
    mirror.apply([AddDestination(ours, DestinationKey("10.99.0.12", 8080), Destination(2))])
    assert set(mirror.services) == {ours}
    assert set(mirror.services[ours].members()) == {server, DestinationKey("10.99.0.12", 8080)}
    # A managed service the data plane no longer holds is forgotten.
    assert mirror.adopt({}, {ours}) == {}
    assert mirror.services == {}


def test_keys_are_canonical_and_typed() -> None:
    assert ServiceKey("tcp", "2001:DB8:0::1", 80) == ServiceKey(IpProtocol.TCP, "2001:db8::1", 80)  # type: ignore[arg-type]
    assert str(ServiceKey(IpProtocol.UDP, "10.99.1.1", 53)) == "[10.99.1.1]:udp:53"
    key = DestinationKey("2001:db8::12", 53)
    assert key.ip.version == 6
    assert key.text(IpProtocol.UDP) == "[2001:db8::12]:udp:53"
