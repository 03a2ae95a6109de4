"""From the configuration to what the checker process checks: the virtual services a virtual_server stands for,
its real servers' keys, and the values each checker takes from the checker, the real server or the
virtual server (keepalived's inheritance). Pure: the daemon turns these into probes and timers."""

from __future__ import annotations

from ..config.model import Config, RealServer, VirtualServer
from ..lb.table import DestinationKey, IpProtocol, ServiceKey

DEFAULT_RETRY = 1
DEFAULT_DELAY_BEFORE_RETRY = 1.0
DEFAULT_CONNECT_TIMEOUT = 5.0


def pick(*values: float | int | None, default: float) -> float:
    """The first value given, from the most specific level to the least (checker, real server, virtual server)."""
    return next((float(v) for v in values if v is not None), default)


def service_keys(server: VirtualServer, config: Config) -> list[ServiceKey]:
    """The virtual services a virtual_server stands for (a virtual_server_group's ranges expanded)."""
    protocol = IpProtocol(server.effective_protocol.value.upper())
    if server.fwmark is not None:
        return [ServiceKey(protocol, fwmark=server.fwmark)]
    if server.group is not None:
        keys = []
        for group in config.virtual_server_group:
            if group.name == server.group:
                for member in group.members:
                    if member.fwmark is not None:
                        keys.append(ServiceKey(protocol, fwmark=member.fwmark))
                    elif member.address is not None and member.last is not None:
                        for value in range(int(member.address), int(member.last) + 1):
                            address = type(member.address)(value)
                            keys.append(ServiceKey(protocol, str(address), member.port or 0))
        return keys
    return [ServiceKey(protocol, str(server.address), server.port or 0)]


def scheduler_flags(server: VirtualServer) -> tuple[str, ...]:
    """The sh-/mh- flags the virtual server sets that its scheduler takes, in IPVS's order."""
    given = {option.keyword for option in server.options}
    return tuple(flag for flag in (f"{server.lb_algo}-fallback", f"{server.lb_algo}-port") if flag in given)


def real_server_key(service: ServiceKey, real: RealServer) -> DestinationKey:
    """As keepalived: a fwmark service's real servers have no port."""
    return DestinationKey(str(real.address), 0 if service.fwmark else real.port)
