"""The VMAC interfaces (use_vmac) the running configuration needs, as keepalived keeps them: made before the
instances that use them start (at start, and on a reload that adds one), removed once no instance uses them
(a reload that removes one; the stop, unless -V)."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable

from ..config.model import Config
from ..io.vmac import create_vmac, remove_vmac
from ..vrrp.gratuitous import vmac
from .vrrp_setup import vmac_name


def wanted(config: Config) -> dict[str, tuple[str, bytes]]:
    """Each VMAC interface the configuration's instances use: its parent and its MAC."""
    found = {}
    for instance in config.vrrp_instance:
        name = vmac_name(instance)
        if name is not None and instance.interface is not None:
            found[name] = (instance.interface, vmac(instance.virtual_router_id or 0))
    return found


class VmacInterfaces:
    def __init__(self) -> None:
        self.made: dict[str, tuple[str, bytes]] = {}
        # pyroute2's synchronous socket runs an event loop of its own: from inside the daemon's, in a thread.
        self.worker = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="vmac")

    def add_missing(self, config: Config) -> None:
        """Make the interfaces `config` needs that are not made yet (one made already is left as it is)."""
        self._in_thread(lambda: self._add(config))

    def keep_only(self, config: Config) -> None:
        """Remove the interfaces made for instances `config` no longer has."""
        self._in_thread(lambda: self._remove(set(self.made) - set(wanted(config))))

    def release(self) -> None:
        self._in_thread(lambda: self._remove(set(self.made)))
        self.worker.shutdown()

    def _add(self, config: Config) -> None:
        for name, (parent, mac) in wanted(config).items():
            if self.made.get(name) != (parent, mac):
                create_vmac(parent, name, mac)
                self.made[name] = (parent, mac)

    def _remove(self, names: set[str]) -> None:
        for name in sorted(names):
            remove_vmac(name)
            del self.made[name]

    def _in_thread(self, work: Callable[[], None]) -> None:
        self.worker.submit(work).result()
