"""The VRRP process's view of one instance: its engine, its settings and what it sends and sets in the kernel
(prebuilt address messages, encoded adverts), and which socket its adverts travel on."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from ..io.addresses import PlacedAddress, address_message
from ..io.timers import TimerHandle
from ..vrrp.ah import encode_ah_ipv4
from ..vrrp.instance import Instance, SendAdvert
from ..vrrp.lifetime import AddressLifetime
from ..vrrp.packet import AUTH_AH, IPPROTO_AH, IPPROTO_VRRP, VRRP_TTL, IPAddr, encode, encode_ipv4
from .vrrp_setup import InstanceSpec

# Interface, address family, IP protocol, and the address adverts come to (the multicast group, or for unicast
# instances our own): instances of different groups, and multicast and unicast ones, read separate sockets.
Channel = tuple[str, int, int, IPAddr]


@dataclass
class Running:
    spec: InstanceSpec
    engine: Instance
    lifetime: AddressLifetime
    timer: TimerHandle | None = None
    link_up: bool = True
    # Encoded VRRP payloads by (priority, destination): all an instance's adverts differ only in these.
    payloads: dict[tuple[int, str], bytes] = field(default_factory=dict)
    protocol: int = IPPROTO_VRRP
    # The IPv4 identification of its adverts, counted per instance from 1 as keepalived does: a peer can
    # tell from it that we kept advertising (see Instance.took_over_ident).
    ip_ident: int = 0

    @property
    def channel(self) -> Channel:
        """The socket this instance's adverts travel on."""
        spec = self.spec
        to = spec.source if spec.params.unicast else spec.destinations[0]
        return spec.interface.name, spec.params.primary.version, self.protocol, to

    # Prebuilt netlink messages for this instance's addresses, with descriptions for error reports.
    add_messages: list[tuple[bytes, str]] = field(default_factory=list)
    remove_messages: list[tuple[bytes, str]] = field(default_factory=list)
    permanent_messages: list[tuple[bytes, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._build_messages()

    def _build_messages(self) -> None:
        self.add_messages, self.remove_messages, self.permanent_messages = [], [], []
        for vip, where in self.spec.addresses:
            placed = PlacedAddress(vip, where.index)
            text = f"({self.spec.params.name}) address {vip.address} on {where.name}"
            self.add_messages.append((address_message(placed, True, self.lifetime.seconds), f"adding {text}"))
            self.remove_messages.append((address_message(placed, False, None), f"removing {text}"))
            self.permanent_messages.append((address_message(placed, True, None), text))

    def respec(self, spec: InstanceSpec) -> list[tuple[bytes, str]]:
        """Take a reload's settings for this instance; return what to remove of what it had set (the
        addresses, routes and rules the new settings no longer have)."""
        old_routing, old_removals = self.spec.routing, self.remove_messages
        self.spec = spec
        self.lifetime = new_lifetime(spec)
        self.payloads.clear()
        self._build_messages()
        kept = {message for message, _ in self.remove_messages}
        gone = [(message, what) for message, what in old_removals if message not in kept]
        routes = {remove for _, remove, _ in spec.routing}
        gone_routing = [
            (remove, f"removing {what}") for _, remove, what in reversed(old_routing) if remove not in routes
        ]
        return gone_routing + gone

    def wire(self, action: SendAdvert, destination: IPAddr) -> bytes:
        """What goes to the socket: the IPv4 packet (our header, keepalived's IP ID counter, AH if any),
        or for IPv6 the VRRP packet alone (the kernel adds the header)."""
        spec = self.spec
        key = (action.advert.priority, str(destination))
        payload = self.payloads.get(key)
        if payload is None:
            payload = self.payloads[key] = encode(action.advert, spec.source, destination)
        if not isinstance(spec.source, ipaddress.IPv4Address) or not isinstance(destination, ipaddress.IPv4Address):
            return payload
        # keepalived skips 0, which would let the kernel choose.
        self.ip_ident = self.ip_ident % 0xFFFF + 1
        ttl = VRRP_TTL if spec.unicast_ttl is None else spec.unicast_ttl
        if action.ah_sequence is None:
            return encode_ipv4(payload, spec.source, destination, self.ip_ident, ttl)
        return encode_ah_ipv4(
            payload,
            spec.source,
            destination,
            self.ip_ident,
            action.ah_sequence,
            spec.params.auth_data,
            spec.params.unicast,
            ttl,
        )


def router_identity(spec: InstanceSpec) -> tuple[object, ...]:
    """What a reload cannot change in place: with another of these, it is another virtual router."""
    params = spec.params
    return spec.interface.name, params.vrid, params.primary.version, params.version, advert_protocol(spec), spec.source


def advert_protocol(spec: InstanceSpec) -> int:
    # AH adverts are protocol 51 and never reach the protocol-112 socket, as in keepalived.
    return IPPROTO_AH if spec.params.auth_type == AUTH_AH else IPPROTO_VRRP


def new_lifetime(spec: InstanceSpec) -> AddressLifetime:
    return AddressLifetime.for_instance(spec.params.version, spec.params.advert_int_cs, spec.params.down_timer_adverts)


def new_running(spec: InstanceSpec) -> Running:
    return Running(spec, Instance(spec.params), new_lifetime(spec), protocol=advert_protocol(spec))
