"""dynamic_interfaces: an instance whose own interface does not exist yet waits for it, as keepalived's does,
instead of stopping the VRRP process; it starts once the interface is there."""

from __future__ import annotations

import socket

from ..config.model import Config, VrrpInstance


def _exists(name: str) -> bool:
    try:
        socket.if_nametoindex(name)
    except OSError:
        return False
    return True


def waiting_instances(config: Config) -> list[VrrpInstance]:
    """The instances that wait for their interface (none without dynamic_interfaces: those refuse to start)."""
    if not config.global_defs.dynamic_interfaces:
        return []
    return [i for i in config.vrrp_instance if i.interface is not None and not _exists(i.interface)]


def ready_instances(config: Config) -> list[VrrpInstance]:
    waiting = {i.name for i in waiting_instances(config)}
    return [i for i in config.vrrp_instance if i.name not in waiting]
