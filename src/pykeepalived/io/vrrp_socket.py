"""Raw sockets for VRRP over IPv4: one pair per interface, shared by the instances on it."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct

from ..vrrp.packet import IPPROTO_VRRP, MCAST_GROUP4, MCAST_GROUP6, VRRP_TOS, VRRP_TTL

SO_BINDTODEVICE = 25
IP_FREEBIND = 15
IP_MULTICAST_ALL = 49
RECEIVE_BUFFER = 4096


class VrrpSocketV4:
    """Receives the VRRP packets sent to the multicast group, or for unicast instances to our address;
    sends packets whose IP header we build.

    Bound to its destination, as keepalived's is: a multicast instance never reads packets sent to the
    host itself (a routed sender's, with its TTL below 255), nor a unicast one the group's.

    We build the IPv4 header ourselves (IP_HDRINCL) so that, like keepalived, each advert carries our
    own IP ID counter and TTL 255 whatever the destination.
    """

    def __init__(
        self,
        ifname: str,
        ifindex: int,
        multicast: bool,
        protocol: int = IPPROTO_VRRP,
        unicast_address: ipaddress.IPv4Address | None = None,
        group: ipaddress.IPv4Address = MCAST_GROUP4,
    ) -> None:
        """`protocol`: 112 for plain VRRP, 51 for AH-authenticated VRRPv2 (keepalived keeps them apart).
        A unicast socket receives what is sent to `unicast_address`, a multicast one what is sent to `group`."""
        self.receiver = socket.socket(socket.AF_INET, socket.SOCK_RAW, protocol)
        self.sender = socket.socket(socket.AF_INET, socket.SOCK_RAW, protocol)
        try:
            for sock in (self.receiver, self.sender):
                sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, ifname.encode())
                sock.setblocking(False)
            # Only the groups joined on this socket, not every group joined on the host.
            self.receiver.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
            if multicast:
                membership = struct.pack("4s4si", group.packed, bytes(4), ifindex)
                self.receiver.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
                self.receiver.bind((str(group), 0))
            elif unicast_address is not None:
                # The source may not be on the interface yet (a VIP, an address added later).
                self.receiver.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
                self.receiver.bind((str(unicast_address), 0))
            self.sender.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
            self.sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
            self.sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, VRRP_TTL)
            self.sender.setsockopt(
                socket.IPPROTO_IP, socket.IP_MULTICAST_IF, struct.pack("4s4si", bytes(4), bytes(4), ifindex)
            )
        except OSError:
            self.close()
            raise

    def fileno(self) -> int:
        return self.receiver.fileno()

    def receive_all(self) -> list[bytes]:
        """Every packet waiting on the socket."""
        packets: list[bytes] = []
        while True:
            try:
                packets.append(self.receiver.recv(RECEIVE_BUFFER))
            except (BlockingIOError, InterruptedError):
                return packets

    def send(self, packet: bytes, destination: str) -> None:
        self.sender.sendto(packet, (destination, 0))

    def close(self) -> None:
        self.receiver.close()
        self.sender.close()


class ArpSocket:
    """Sends Ethernet frames (gratuitous ARPs) on one interface."""

    def __init__(self, ifname: str) -> None:
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        self.sock.bind((ifname, 0))
        self.sock.setblocking(False)

    def send(self, frame: bytes) -> None:
        # On a full transmit queue this round is lost; the next burst (garp_master_delay) repeats it.
        with contextlib.suppress(BlockingIOError):
            self.sock.send(frame)

    def close(self) -> None:
        self.sock.close()


IPV6_CHECKSUM = 7
VRRP_CHECKSUM_OFFSET = 6


class VrrpSocketV6:
    """VRRPv3 over IPv6: the kernel builds the IPv6 header and the checksum; we read hop limit and
    destination from ancillary data."""

    def __init__(
        self,
        ifname: str,
        ifindex: int,
        source: ipaddress.IPv6Address,
        multicast: bool,
        group: ipaddress.IPv6Address = MCAST_GROUP6,
    ) -> None:
        self.ifindex = ifindex
        self.sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPPROTO_VRRP)
        try:
            sock = self.sock
            sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, ifname.encode())
            sock.setsockopt(socket.IPPROTO_RAW, IPV6_CHECKSUM, VRRP_CHECKSUM_OFFSET)
            # Unicast adverts leave with the kernel's hop limit unless unicast_ttl says otherwise, as keepalived's.
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, VRRP_TTL)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, VRRP_TOS)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
            sock.bind((str(source), 0, 0, ifindex))
            if multicast:
                membership = group.packed + struct.pack("@I", ifindex)
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, membership)
            sock.setblocking(False)
        except OSError:
            self.sock.close()
            raise

    def fileno(self) -> int:
        return self.sock.fileno()

    def receive_all(self) -> list[tuple[bytes, ipaddress.IPv6Address, ipaddress.IPv6Address | None, int | None]]:
        """(payload, source, destination, hop limit) for every packet waiting."""
        packets: list[tuple[bytes, ipaddress.IPv6Address, ipaddress.IPv6Address | None, int | None]] = []
        while True:
            try:
                data, ancillary, _, address = self.sock.recvmsg(RECEIVE_BUFFER, socket.CMSG_SPACE(64))
            except (BlockingIOError, InterruptedError):
                return packets
            destination: ipaddress.IPv6Address | None = None
            hop_limit: int | None = None
            for level, kind, value in ancillary:
                if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_HOPLIMIT:
                    hop_limit = struct.unpack("@i", value[:4])[0]
                elif level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO:
                    destination = ipaddress.IPv6Address(value[:16])
            source = ipaddress.IPv6Address(address[0].split("%")[0])
            packets.append((data, source, destination, hop_limit))

    def send(self, payload: bytes, destination: str, hop_limit: int | None = None) -> None:
        ancillary = (
            [] if hop_limit is None else [(socket.IPPROTO_IPV6, socket.IPV6_HOPLIMIT, struct.pack("@i", hop_limit))]
        )
        self.sock.sendmsg([payload], ancillary, 0, (destination, 0, 0, self.ifindex))

    def close(self) -> None:
        self.sock.close()


class NeighbourAdvertSocket:
    """Sends unsolicited neighbour adverts from a virtual IPv6 address to all nodes (ff02::1)."""

    ALL_NODES = "ff02::1"

    def __init__(self, ifindex: int) -> None:
        self.ifindex = ifindex
        self.sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, VRRP_TTL)
        self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
        self.sock.setblocking(False)

    def send(self, body: bytes, source: ipaddress.IPv6Address) -> None:
        info = source.packed + struct.pack("@I", self.ifindex)
        # A failed send (queue full, address not usable yet) loses one round; the delayed burst repeats it.
        with contextlib.suppress(OSError):
            self.sock.sendmsg(
                [body], [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, info)], 0, (self.ALL_NODES, 0, 0, self.ifindex)
            )

    def close(self) -> None:
        self.sock.close()
