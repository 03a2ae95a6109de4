"""`pykeepalivedctl status`: what the running daemon is doing, asked of its processes (daemon/status.py)."""

from __future__ import annotations

import json
import sys

from ..daemon.status import ROLES, Snapshot, ask

TRACKED_STATUS = {True: "OK", False: "FAILED", None: "not known yet"}
# As systemctl and LSB status: the program is not running.
EXIT_NOT_RUNNING = 3


def show_status(pidfile: str, as_json: bool) -> int:
    try:
        with open(pidfile) as handle:
            supervisor = int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        print(f"pykeepalived is not running (no pid in {pidfile})", file=sys.stderr)
        return EXIT_NOT_RUNNING
    answers = {role: ask(supervisor, role) for role in ROLES}
    if all(answer is None for answer in answers.values()):
        print(f"pykeepalived (pid {supervisor} in {pidfile}) does not answer", file=sys.stderr)
        return EXIT_NOT_RUNNING
    if as_json:
        print(json.dumps({role: answer for role, answer in answers.items() if answer is not None}, indent=2))
    else:
        print("\n".join(status_lines(answers.get("vrrp"), answers.get("checker"))))
    return 0


def status_lines(vrrp: Snapshot | None, checker: Snapshot | None) -> list[str]:
    lines = []
    if vrrp is not None:
        lines.append("VRRP instances")
        for instance in vrrp["instances"]:
            base, effective = instance["priority"], instance["effective_priority"]
            priority = f"{effective}" if base == effective else f"{effective} (configured {base})"
            where = f"VRID {instance['vrid']} on {instance['interface']}"
            master = instance["master"] or "-"
            lines.append(f"  {instance['name']}: {instance['state']}, {where}, priority {priority}, master {master}")
            vips = ", ".join(instance["vips"]) or "-"
            lines.append(f"    VIPs {vips} ({'set' if instance['vips_set'] else 'not set'})")
            for tracked in instance["tracking"]:
                status = TRACKED_STATUS.get(tracked["status"], tracked["status"])
                lines.append(f"    tracks {tracked['kind']} {tracked['name']} (weight {tracked['weight']}): {status}")
        for group, state in vrrp["sync_groups"].items():
            lines.append(f"  sync group {group}: {state}")
    if checker is not None:
        lines.append(f"Virtual servers (data plane: {checker['dataplane']})")
        for server in checker["virtual_servers"]:
            quorum = "quorum up" if server["quorum_up"] else "quorum DOWN"
            sorry = ", sorry server active" if server["sorry_server_active"] else ""
            lines.append(f"  {server['service']}: {quorum}{sorry}")
            for real in server["real_servers"]:
                state = {True: "up", False: "DOWN", None: "not checked yet"}[real["alive"]]
                table = "" if real["in_table"] else ", not in the table"
                lines.append(f"    [{real['address']}]:{real['port']} {state}, weight {real['weight']}, "
                             f"{real['active_connections']} active, {real['inactive_connections']} inactive"
                             f"{table}")  # fmt: skip
    return lines
