"""The Prometheus endpoint (`--metrics ADDR:PORT`, off by default), served by the supervisor.

Each scrape asks the VRRP and checker processes for their state (daemon/status.py), so the page is always
current and no process keeps a second copy of its counters. The names are those the tools already in use
read: keepalived-exporter's for the VRRP side (its labels: iname, intf, vrid, state), node exporter's IPVS
collector's for the data plane; ours start with pykeepalived_.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from prometheus_client import start_http_server
from prometheus_client.core import CollectorRegistry, CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .status import STATE_NUMBERS, Snapshot, ask

# keepalived-exporter's names for the counters of keepalived's JSON dump (which our snapshot repeats).
VRRP_COUNTERS = {
    "advert_rcvd": ("keepalived_advertisements_received_total", "Advertisements received"),
    "advert_sent": ("keepalived_advertisements_sent_total", "Advertisements sent"),
    "become_master": ("keepalived_become_master_total", "Became master"),
    "release_master": ("keepalived_release_master_total", "Released master"),
    "packet_len_err": ("keepalived_packet_length_errors_total", "Packet length errors"),
    "advert_interval_err": ("keepalived_advertisements_interval_errors_total", "Advertisement interval errors"),
    "ip_ttl_err": ("keepalived_ip_ttl_errors_total", "TTL errors"),
    "invalid_type_rcvd": ("keepalived_invalid_type_received_total", "Invalid type errors"),
    "addr_list_err": ("keepalived_address_list_errors_total", "Address list errors"),
    "invalid_authtype": ("keepalived_authentication_invalid_total", "Authentication invalid"),
    "authtype_mismatch": ("keepalived_authentication_mismatch_total", "Authentication mismatch"),
    "auth_failure": ("keepalived_authentication_failure_total", "Authentication failure"),
    "pri_zero_rcvd": ("keepalived_priority_zero_received_total", "Priority zero received"),
    "pri_zero_sent": ("keepalived_priority_zero_sent_total", "Priority zero sent"),
}
VRRP_LABELS = ["iname", "intf", "vrid", "state"]


class DaemonCollector(Collector):
    def __init__(self, supervisor_pid: int) -> None:
        self.supervisor_pid = supervisor_pid

    def collect(self) -> Iterator[Metric]:
        vrrp, checker = ask(self.supervisor_pid, "vrrp"), ask(self.supervisor_pid, "checker")
        up = GaugeMetricFamily("keepalived_up", "Status")
        up.add_metric([], 1.0 if vrrp is not None or checker is not None else 0.0)
        yield up
        if vrrp is not None:
            yield from vrrp_metrics(vrrp)
        if checker is not None:
            yield from checker_metrics(checker)


def vrrp_metrics(snapshot: Snapshot) -> Iterator[Metric]:
    state = GaugeMetricFamily("keepalived_vrrp_state", "State of vrrp", labels=["iname", "intf", "vrid", "ip_address"])
    counters = {key: CounterMetricFamily(name, text, labels=VRRP_LABELS) for key, (name, text) in VRRP_COUNTERS.items()}
    priority = GaugeMetricFamily("pykeepalived_vrrp_priority", "Effective priority", labels=VRRP_LABELS)
    split = CounterMetricFamily("pykeepalived_vrrp_split_brain", "Split brains seen", labels=VRRP_LABELS)
    dropped = CounterMetricFamily(
        "pykeepalived_vrrp_dropped", "Adverts dropped, by reason", labels=[*VRRP_LABELS, "reason"]
    )
    for instance in snapshot["instances"]:
        labels = [instance["name"], instance["interface"], str(instance["vrid"]), instance["state"]]
        for vip in instance["vips"]:
            number = STATE_NUMBERS.get(instance["state"], 0)
            state.add_metric([instance["name"], instance["interface"], str(instance["vrid"]), vip], number)
        stats: dict[str, int] = instance["stats"]
        for key, family in counters.items():
            family.add_metric(labels, stats[key])
        found: dict[str, int] = instance["counters"]
        priority.add_metric(labels, instance["effective_priority"])
        split.add_metric(labels, found.get("split_brain", 0))
        for key, count in sorted(found.items()):
            if key.startswith("drop_"):
                dropped.add_metric([*labels, key.removeprefix("drop_")], count)
    yield from (state, *counters.values(), priority, split, dropped)
    script_status = GaugeMetricFamily("keepalived_script_status", "Tracker Script Status", labels=["name"])
    for name, status in sorted(snapshot["scripts"].items()):
        script_status.add_metric([name], 1.0 if status else 0.0)
    yield script_status
    undecodable = CounterMetricFamily("pykeepalived_vrrp_undecodable", "Packets that are not VRRP", labels=["reason"])
    for reason, count in sorted(snapshot["undecodable_packets"].items()):
        undecodable.add_metric([reason], count)
    yield undecodable


def checker_metrics(snapshot: Snapshot) -> Iterator[Metric]:
    ipvs_labels = ["local_address", "local_port", "remote_address", "remote_port", "proto", "local_mark"]
    by_address = "by local and remote address."
    active = GaugeMetricFamily(
        "node_ipvs_backend_connections_active", f"The current active connections {by_address}", labels=ipvs_labels
    )
    inactive = GaugeMetricFamily(
        "node_ipvs_backend_connections_inactive", f"The current inactive connections {by_address}", labels=ipvs_labels
    )
    weight = GaugeMetricFamily(
        "node_ipvs_backend_weight", f"The current backend weight {by_address}", labels=ipvs_labels
    )
    alive = GaugeMetricFamily(
        "pykeepalived_real_server_up", "Whether the checks find the real server up", labels=ipvs_labels
    )
    quorum = GaugeMetricFamily(
        "pykeepalived_virtual_server_quorum_up", "Whether the virtual server has its quorum", labels=ipvs_labels[:2]
    )
    for server in snapshot["virtual_servers"]:
        local = [_address(server["address"]), str(server["port"])]
        quorum.add_metric(local, 1.0 if server["quorum_up"] else 0.0)
        for real in server["real_servers"]:
            labels = [
                *local,
                _address(real["address"]),
                str(real["port"]),
                server["protocol"],
                str(server["fwmark"] or ""),
            ]
            alive.add_metric(labels, 1.0 if real["alive"] else 0.0)
            if real["in_table"]:
                active.add_metric(labels, real["active_connections"])
                inactive.add_metric(labels, real["inactive_connections"])
                weight.add_metric(labels, real["weight"])
    yield from (active, inactive, weight, alive, quorum)
    checks = CounterMetricFamily("pykeepalived_checks", "Checks run", labels=["checker"])
    seconds = CounterMetricFamily("pykeepalived_check_seconds", "Time spent in checks", labels=["checker"])
    failures = CounterMetricFamily(
        "pykeepalived_check_failures", "Failed checks, by cause", labels=["checker", "reason"]
    )
    for label, counts in sorted(snapshot["checks"].items()):
        checks.add_metric([label], counts["checks"])
        seconds.add_metric([label], counts["seconds"])
        for reason, count in sorted(counts["failures"].items()):
            failures.add_metric([label, reason], count)
    yield from (checks, seconds, failures)


def _address(address: str) -> str:
    """node exporter writes IPv6 addresses without brackets and an absent one (fwmark) as empty."""
    return str(ipaddress.ip_address(address)) if address else ""


def start_metrics(listen: str, supervisor_pid: int) -> None:
    """Serve /metrics on ADDR:PORT ([ADDR]:PORT for IPv6) from a thread of the supervisor."""
    host, _, port = listen.rpartition(":")
    registry = CollectorRegistry()
    registry.register(DaemonCollector(supervisor_pid))
    start_http_server(int(port), addr=host.strip("[]") or "0.0.0.0", registry=registry)
