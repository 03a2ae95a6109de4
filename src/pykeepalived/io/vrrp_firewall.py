"""The accept-mode firewall in the kernel: vrrp/firewall.py's commands, run through libnftables."""

from __future__ import annotations

import logging
from collections.abc import Collection

from ..vrrp.firewall import Blocked, FirewallRules, FirewallSettings
from .errors import DataplaneUnavailable
from .nftables import Nftables, open_nftables


class VipFirewall:
    """Drops traffic to and from the VIPs of masters without accept mode; one holder per instance."""

    def __init__(self, settings: FirewallSettings, logger: logging.Logger, library: Nftables | None = None) -> None:
        self.logger = logger
        self.rules = FirewallRules(settings)
        self.by_instance: dict[str, frozenset[Blocked]] = {}
        self.library: Nftables | None = library
        if self.library is None:
            try:
                self.library = open_nftables()
            except DataplaneUnavailable as problem:
                logger.error(f"VRRP: no firewall for accept mode: {problem}")
                return
        for command in self.rules.cleanup():
            self._run(command, quiet=True)

    def hold(self, instance: str, entries: Collection[Blocked]) -> None:
        """The addresses `instance` blocks now (none: it left MASTER)."""
        if entries:
            self.by_instance[instance] = frozenset(entries)
        else:
            self.by_instance.pop(instance, None)
        wanted = set().union(*self.by_instance.values())
        commands = self.rules.change(wanted)
        if commands:
            self._run("\n".join(commands))

    def close(self) -> None:
        self.by_instance.clear()
        commands = self.rules.teardown()
        if commands:
            self._run("\n".join(commands))

    def _run(self, commands: str, quiet: bool = False) -> None:
        if self.library is None:
            return
        code, _, error = self.library.cmd(commands)
        if code != 0 and not quiet:
            self.logger.error(f"VRRP: nftables refused the accept-mode rules: {error.strip()}")
