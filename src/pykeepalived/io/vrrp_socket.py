"""Raw sockets for VRRP over IPv4: one pair per interface, shared by the instances on it."""

from __future__ import annotations

import contextlib
import socket
import struct

from ..vrrp.packet import IPPROTO_VRRP, MCAST_GROUP4, VRRP_TTL

SO_BINDTODEVICE = 25
IP_MULTICAST_ALL = 49
RECEIVE_BUFFER = 4096


class VrrpSocketV4:
    """Receives every protocol-112 packet on the interface; sends packets whose IP header we build.

    We build the IPv4 header ourselves (IP_HDRINCL) so that, like keepalived, each advert carries our
    own IP ID counter and TTL 255 whatever the destination.
    """

    def __init__(self, ifname: str, ifindex: int, join_multicast: bool, protocol: int = IPPROTO_VRRP) -> None:
        """`protocol`: 112 for plain VRRP, 51 for AH-authenticated VRRPv2 (keepalived keeps them apart)."""
        self.ifname = ifname
        self.receiver = socket.socket(socket.AF_INET, socket.SOCK_RAW, protocol)
        self.sender = socket.socket(socket.AF_INET, socket.SOCK_RAW, protocol)
        try:
            for sock in (self.receiver, self.sender):
                sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, ifname.encode())
                sock.setblocking(False)
            # Only the groups joined on this socket, not every group joined on the host.
            self.receiver.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
            if join_multicast:
                membership = struct.pack("4s4si", MCAST_GROUP4.packed, bytes(4), ifindex)
                self.receiver.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
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
