"""From the configuration to what the checker process checks: the virtual services a virtual_server stands for,
its real servers' keys, the policies, and each checker with the values it takes from the checker, the real
server or the virtual server (keepalived's inheritance). Pure: the daemon binds each planned check to a
probe and its timers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..config.model import Checker, CheckerCommon, Config, MiscCheck, RealServer, VirtualServer
from ..lb.table import DestinationKey, IpProtocol, ServiceKey
from .policy import CheckerPolicy, RealServerPolicy, VirtualServerPolicy

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


@dataclass(frozen=True)
class Endpoint:
    """Where a checker connects: the real server's address and port unless connect_ip/connect_port say
    otherwise, from bindto/bind_port if given, giving up after `timeout` seconds."""

    address: str
    port: int
    timeout: float
    bind_address: str | None = None
    bind_port: int | None = None


@dataclass(frozen=True)
class PlannedCheck:
    """One checker of one real server with every value it inherits resolved: what the daemon binds to a probe."""

    checker: Checker
    real: RealServer
    endpoint: Endpoint
    # How log lines name it: [address]:protocol:port.
    description: str
    policy: CheckerPolicy
    delay_loop: float
    delay_before_retry: float
    warmup: float
    log_all_failures: bool
    alpha: bool
    real_server: RealServerPolicy
    virtual_server: VirtualServerPolicy


def compile_checks(
    config: Config, keep_misc: Callable[[MiscCheck], bool]
) -> tuple[list[VirtualServerPolicy], list[PlannedCheck]]:
    """Each virtual service's policy and its checks, in the configuration's order; `keep_misc` says whether a
    MISC_CHECK stays (keepalived removes one whose script cannot run)."""
    policies: list[VirtualServerPolicy] = []
    planned: list[PlannedCheck] = []
    for server in config.virtual_server:
        for key in service_keys(server, config):
            reals: list[RealServerPolicy] = []
            # The checks once their virtual server's policy exists (made from its real servers' checkers).
            pending: list[Callable[[VirtualServerPolicy], PlannedCheck]] = []
            for real in server.real_server:
                rs_policy = _real_server_policy(server, real, key)
                for checker in real.checkers:
                    if isinstance(checker, MiscCheck) and not keep_misc(checker):
                        continue
                    pending.append(_planned(server, key, checker, real, rs_policy))
                reals.append(rs_policy)
            policy = _virtual_server_policy(server, key, reals)
            policies.append(policy)
            planned.extend(plan(policy) for plan in pending)
    return policies, planned


def _real_server_policy(server: VirtualServer, real: RealServer, key: ServiceKey) -> RealServerPolicy:
    inhibit = real.inhibit_on_failure if real.inhibit_on_failure is not None else server.inhibit_on_failure
    return RealServerPolicy(
        real_server_key(key, real),
        real.weight,
        bool(inhibit),
        [],
        (real.lvs_method or server.lb_kind).value,
        real.uthreshold or 0,
        real.lthreshold or 0,
    )


def _virtual_server_policy(
    server: VirtualServer, key: ServiceKey, reals: list[RealServerPolicy]
) -> VirtualServerPolicy:
    sorry = server.sorry_server
    return VirtualServerPolicy(
        key,
        server.lb_algo,
        reals,
        quorum=server.quorum,
        hysteresis=server.hysteresis,
        sorry_server=DestinationKey(str(sorry[0]), sorry[1]) if sorry else None,
        sorry_inhibit=server.sorry_server_inhibit,
        persistence_timeout=server.persistence_timeout or 0,
        persistence_granularity=server.persistence_granularity,
        scheduler_flags=scheduler_flags(server),
    )


def _planned(
    server: VirtualServer,
    key: ServiceKey,
    checker: Checker,
    real: RealServer,
    rs_policy: RealServerPolicy,
) -> Callable[[VirtualServerPolicy], PlannedCheck]:
    """The check, its policy added to its real server's."""
    common = checker if isinstance(checker, CheckerCommon) else CheckerCommon()
    delay_loop = pick(common.delay_loop, real.delay_loop, default=server.delay_loop)
    timeout = pick(
        common.connect_timeout, real.connect_timeout, server.connect_timeout, default=DEFAULT_CONNECT_TIMEOUT
    )
    if isinstance(checker, MiscCheck):
        timeout = pick(checker.misc_timeout, default=delay_loop)
    endpoint = Endpoint(
        str(common.connect_ip or real.address),
        common.connect_port if common.connect_port is not None else real.port,
        timeout,
        str(common.bindto) if common.bindto else None,
        common.bind_port,
    )
    real_alpha = real.alpha if real.alpha is not None else server.alpha
    alpha = bool(common.alpha if common.alpha is not None else real_alpha)
    checker_policy = CheckerPolicy(
        int(pick(common.retry, real.retry, server.retry, default=DEFAULT_RETRY)), up=not alpha
    )
    rs_policy.checkers.append(checker_policy)
    delay_before_retry = pick(common.delay_before_retry, real.delay_before_retry, server.delay_before_retry,
                              default=DEFAULT_DELAY_BEFORE_RETRY)  # fmt: skip
    warmup = pick(common.warmup, real.warmup, server.warmup, default=0.0)
    return lambda policy: PlannedCheck(
        checker,
        real,
        endpoint,
        f"[{endpoint.address}]:{key.protocol.lower()}:{endpoint.port}",
        checker_policy,
        delay_loop,
        delay_before_retry,
        warmup,
        bool(common.log_all_failures),
        alpha,
        rs_policy,
        policy,
    )
