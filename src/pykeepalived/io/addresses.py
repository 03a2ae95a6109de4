"""Virtual addresses through netlink (pyroute2)."""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass

from pyroute2 import AsyncIPRoute
from pyroute2.netlink.exceptions import NetlinkError

from ..config.items import VirtualAddress

SCOPES = {"global": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}


@dataclass(frozen=True)
class PlacedAddress:
    """A virtual address and the interface it goes on."""

    address: VirtualAddress
    ifindex: int


class AddressManager:
    def __init__(self) -> None:
        self._ipr: AsyncIPRoute | None = None

    async def _netlink(self) -> AsyncIPRoute:
        if self._ipr is None:
            self._ipr = AsyncIPRoute()
        return self._ipr

    @staticmethod
    def _arguments(placed: PlacedAddress) -> dict[str, object]:
        vip = placed.address
        arguments: dict[str, object] = {
            "index": placed.ifindex,
            "address": str(vip.address.ip),
            "prefixlen": vip.address.network.prefixlen,
            "family": socket.AF_INET if vip.family == 4 else socket.AF_INET6,
        }
        if vip.label:
            arguments["label"] = vip.label
        if vip.broadcast is not None:
            arguments["broadcast"] = str(vip.broadcast)
        if vip.scope is not None:
            arguments["scope"] = SCOPES.get(vip.scope, int(vip.scope) if vip.scope.isdigit() else 0)
        if vip.family == 6:
            # keepalived adds IPv6 VIPs without duplicate address detection.
            arguments["flags"] = 0x02  # IFA_F_NODAD
        return arguments

    async def add(self, placed: PlacedAddress, lifetime: int | None = None) -> None:
        """Add (or refresh) the address; with `lifetime` the kernel deletes it unless refreshed in time."""
        ipr = await self._netlink()
        arguments = self._arguments(placed)
        if lifetime is not None:
            arguments["IFA_CACHEINFO"] = {"ifa_preferred": lifetime, "ifa_valid": lifetime}
        await ipr.addr("replace", **arguments)

    async def remove(self, placed: PlacedAddress) -> None:
        ipr = await self._netlink()
        arguments = self._arguments(placed)
        arguments.pop("flags", None)
        try:
            await ipr.addr("del", **arguments)
        except NetlinkError as error:
            if error.code not in (errno.EADDRNOTAVAIL, errno.ENODEV):
                raise

    def close(self) -> None:
        if self._ipr is not None:
            self._ipr.close()
            self._ipr = None
