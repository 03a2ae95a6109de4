"""Whether this host answers ARP requests for an address, asked for real: a probe namespace of its own,
linked to this one by a veth pair, sends ARP requests (arping) and sees whether the kernel here answers.

The veth end on this side gets a LAN interface's ARP settings (arp_ignore), so the kernel decides as it
would for a request arriving on that interface. The requests have sender address 0.0.0.0 (an address
probe, as duplicate address detection sends them): the kernel answers those from its address list and
arp_ignore alone, without the route and rp_filter checks that an ordinary request would also need to pass,
so the probe needs no address on either side; an ordinary request is never answered where this one is not.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from pyroute2 import IPRoute, netns

PROBE_INTERFACE = "probe0"
# arping: stop at the first answer; else 3 requests, 0.2 s apart, given up after 1.5 s.
ARPING_OPTIONS = ("-0", "-q", "-C", "1", "-c", "3", "-W", "0.2", "-w", "1.5")


class ProbeUnavailable(Exception):
    """The probe cannot run here (the reason is the message)."""


class ArpProbe:
    """A veth pair to a probe namespace, while it is open; `answers` sends the requests."""

    def __init__(self) -> None:
        token = secrets.token_hex(3)
        self.namespace = f"pykeepalived-arp-{token}"
        self.interface = f"pkarp{token}"

    @contextlib.contextmanager
    def opened(self) -> Iterator[ArpProbe]:
        if shutil.which("arping") is None:
            raise ProbeUnavailable("arping is missing (apt install arping)")
        netns.create(self.namespace)
        try:
            with IPRoute() as routing:
                routing.link(
                    "add", ifname=self.interface, kind="veth",
                    peer={"ifname": PROBE_INTERFACE, "net_ns_fd": self.namespace},
                )  # fmt: skip
                try:
                    self._bring_up(routing)
                    yield self
                finally:
                    # Deleting one end deletes the pair.
                    routing.link("del", index=routing.link_lookup(ifname=self.interface)[0])
        finally:
            netns.remove(self.namespace)

    def _bring_up(self, routing: IPRoute) -> None:
        # No IPv6 on the probe link: nothing of this host's (router solicitations, MLD) goes out on it.
        ipv6 = Path(f"/proc/sys/net/ipv6/conf/{self.interface}/disable_ipv6")
        if ipv6.exists():
            ipv6.write_text("1")
        routing.link("set", index=routing.link_lookup(ifname=self.interface)[0], state="up")
        with IPRoute(netns=self.namespace) as probe:
            probe.link("set", index=probe.link_lookup(ifname=PROBE_INTERFACE)[0], state="up")
        operstate = Path(f"/sys/class/net/{self.interface}/operstate")
        deadline = time.monotonic() + 2
        while operstate.read_text().strip() != "up":
            if time.monotonic() > deadline:
                raise ProbeUnavailable(f"the probe link {self.interface} did not come up")
            time.sleep(0.01)

    def answers(self, address: str, arp_ignore: int) -> bool:
        """Whether this host answers an ARP request for `address` on an interface with this arp_ignore."""
        Path(f"/proc/sys/net/ipv4/conf/{self.interface}/arp_ignore").write_text(str(arp_ignore))
        command = ["ip", "netns", "exec", self.namespace, "arping", *ARPING_OPTIONS, "-i", PROBE_INTERFACE, address]
        result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=10)
        if result.returncode not in (0, 1):
            raise ProbeUnavailable(f"arping failed: {result.stderr.strip() or result.returncode}")
        return result.returncode == 0
