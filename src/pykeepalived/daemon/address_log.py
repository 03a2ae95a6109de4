"""keepalived's -a/--address-monitoring: each process logs the addresses the kernel reports added or removed
(keepalived's words: the VRRP process names the interface, the checker does not), those already there at
start included; the VRRP process leaves out the changes it made itself (its VIPs), as keepalived does."""

from __future__ import annotations

import asyncio
import logging

from ..io.address_monitor import AddressChange, AddressMonitor


def vrrp_line(change: AddressChange) -> str:
    where = "added to" if change.added else "removed from"
    return f"Netlink reflector reports IP {change.address} {where} {change.interface}"


def checker_line(change: AddressChange) -> str:
    return f"Netlink reflector reports IP {change.address} {'added' if change.added else 'removed'}"


def log_address_changes(logger: logging.Logger, vrrp: bool, ignored_portid: int | None = None) -> None:
    """Log them from now on, on the running loop, for as long as the process runs."""
    line = vrrp_line if vrrp else checker_line
    monitor = AddressMonitor(ignored_portid)
    for change in monitor.current():
        logger.info(line(change))

    def on_readable() -> None:
        for change in monitor.read():
            logger.info(line(change))

    asyncio.get_running_loop().add_reader(monitor.fileno(), on_readable)
