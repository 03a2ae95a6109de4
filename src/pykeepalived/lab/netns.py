"""A lab of network namespaces: routers and a client on one bridge, for demos and tests.

Everything lives in namespaces named PREFIX-*: PREFIX-sw holds the bridge, PREFIX-r1.. are routers
(interface eth0 = 10.99.0.(10+i)/16, MAC 02:99:00:00:00:0i), PREFIX-c is the client (10.99.0.100/16).
Nothing is linked to the machine's own interfaces. The lab kills only the processes it started, by
PID, and deletes its namespaces when it closes, also after a failure.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

CLIENT_ADDRESS = "10.99.0.100"
NETWORK_PREFIX = 16


def run(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.strip()}")
    return result


def router_address(index: int) -> str:
    return f"10.99.0.{10 + index}"


def router_mac(index: int) -> str:
    return f"02:99:00:00:00:{index:02x}"


def pykeepalived_command() -> list[str]:
    return [sys.executable, "-m", "pykeepalived.cli.daemon"]


@dataclass
class Reply:
    at: float
    mac: str


@dataclass
class Prober:
    """The client's pings to a VIP, with the MAC of every reply."""

    process: subprocess.Popen[str]
    replies: list[Reply] = field(default_factory=list)

    def start_reading(self) -> None:
        def read() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                data = json.loads(line)
                self.replies.append(Reply(data["t"], data["mac"]))

        threading.Thread(target=read, daemon=True).start()

    def first_reply_from(self, mac: str, after: float) -> float | None:
        return next((r.at for r in self.replies if r.mac == mac and r.at >= after), None)

    def longest_gap(self, after: float) -> float:
        times = [r.at for r in self.replies if r.at >= after]
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


@dataclass
class Router:
    index: int
    namespace: str
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def address(self) -> str:
        return router_address(self.index)

    @property
    def mac(self) -> str:
        return router_mac(self.index)


class Lab:
    def __init__(self, prefix: str, routers: int = 2) -> None:
        if len(f"{prefix}-r{routers}p") > 15:
            raise ValueError(f"prefix {prefix!r} too long for interface names")
        self.prefix = prefix
        self.switch = f"{prefix}-sw"
        self.client = f"{prefix}-c"
        self.routers = [Router(i, f"{prefix}-r{i}") for i in range(1, routers + 1)]
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{prefix}-lab-"))
        self.probers: list[Prober] = []
        self.started: list[subprocess.Popen[bytes] | subprocess.Popen[str]] = []

    # ----- building and tearing down --------------------------------------------------------------

    def __enter__(self) -> Lab:
        try:
            self.build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def namespaces(self) -> list[str]:
        return [self.switch, self.client, *(r.namespace for r in self.routers)]

    def build(self) -> None:
        for namespace in self.namespaces():
            run("ip", "netns", "add", namespace)
            run("ip", "-n", namespace, "link", "set", "lo", "up")
            # No duplicate address detection: link-local addresses are usable at once (IPv6 VRRP).
            for scope in ("all", "default"):
                run("ip", "netns", "exec", namespace, "sysctl", "-q", "-w", f"net.ipv6.conf.{scope}.accept_dad=0")
        bridge = f"{self.prefix}-br0"
        run("ip", "-n", self.switch, "link", "add", bridge, "type", "bridge")
        run("ip", "-n", self.switch, "link", "set", bridge, "up")
        ports = [(r.namespace, f"{self.prefix}-r{r.index}p", r.address, r.mac) for r in self.routers]
        ports.append((self.client, f"{self.prefix}-cp", CLIENT_ADDRESS, "02:99:00:00:00:fe"))
        for namespace, port, address, mac in ports:
            # Create both ends inside the lab's namespaces: nothing touches the machine's own.
            run(
                "ip", "-n", self.switch, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", namespace
            )
            run("ip", "-n", self.switch, "link", "set", port, "master", bridge, "up")
            run("ip", "-n", namespace, "link", "set", "eth0", "address", mac)
            run("ip", "-n", namespace, "addr", "add", f"{address}/{NETWORK_PREFIX}", "dev", "eth0")
            run("ip", "-n", namespace, "link", "set", "eth0", "up")

    def close(self) -> None:
        for process in self.started:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGCONT)
                    process.terminate()
        for process in self.started:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        for namespace in self.namespaces():
            run("ip", "netns", "del", namespace, check=False)

    # ----- running things -------------------------------------------------------------------------

    def start_router(self, router: Router, config: str, *extra: str, daemon: list[str] | None = None) -> None:
        """Run pykeepalived (or `daemon`, e.g. keepalived: it takes the same options) in the router."""
        conf = self.workdir / f"r{router.index}.conf"
        conf.write_text(config, encoding="utf-8")
        # A killed daemon leaves its pidfiles, and keepalived refuses to start over them.
        for stale in ("pid", "vrrp.pid"):
            (self.workdir / f"r{router.index}.{stale}").unlink(missing_ok=True)
        router.log_path = self.workdir / f"r{router.index}.log"
        command = [
            *(daemon or pykeepalived_command()), "-n", "-l", "-G", "-P", "-f", str(conf),
            "-p", str(self.workdir / f"r{router.index}.pid"),
            "-r", str(self.workdir / f"r{router.index}.vrrp.pid"), *extra,
        ]  # fmt: skip
        with open(router.log_path, "ab") as log:
            router.process = subprocess.Popen(
                ["ip", "netns", "exec", router.namespace, *command],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append(router.process)

    def router_pids(self, router: Router) -> list[int]:
        """The router's daemon processes: the supervisor and its children."""
        pids: list[int] = []
        for name in ("pid", "vrrp.pid"):
            path = self.workdir / f"r{router.index}.{name}"
            with contextlib.suppress(FileNotFoundError, ValueError):
                pids.append(int(path.read_text().strip()))
        return pids

    def signal_router(self, router: Router, signum: signal.Signals) -> None:
        for pid in self.router_pids(router):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def set_link(self, router: Router, up: bool) -> None:
        run("ip", "-n", router.namespace, "link", "set", "eth0", "up" if up else "down")

    def holders(self, vip: str, dev: str = "eth0") -> list[Router]:
        """The routers whose interface `dev` carries `vip` now."""
        found = []
        for router in self.routers:
            out = run("ip", "-n", router.namespace, "-o", "addr", "show", "dev", dev, check=False).stdout
            if f" {vip}/" in out:
                found.append(router)
        return found

    def wait_for_holder(self, vip: str, timeout: float, expected: Router | None = None) -> Router | None:
        """Wait until one router alone holds `vip` (`expected`, if given); return it, or None on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            holders = self.holders(vip)
            if len(holders) == 1 and expected in (None, holders[0]):
                return holders[0]
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.02)

    def start_prober(self, vip: str, duration: float) -> Prober:
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.client, sys.executable, "-m", "pykeepalived.lab.prober", vip,
             "--duration", str(duration)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )  # fmt: skip
        self.started.append(process)
        prober = Prober(process)
        prober.start_reading()
        self.probers.append(prober)
        return prober

    def client_neighbour_mac(self, address: str) -> str | None:
        out = run("ip", "-n", self.client, "neigh", "show", address, check=False).stdout.split()
        return out[out.index("lladdr") + 1] if "lladdr" in out else None

    def log_lines(self, router: Router) -> Iterator[str]:
        if router.log_path is not None and router.log_path.exists():
            yield from router.log_path.read_text(errors="replace").splitlines()


def vrrp_config(
    router: Router,
    priority: int,
    vip: str = "10.99.1.1",
    version: int = 3,
    advert_int: float = 0.1,
    extra: str = "",
    peers: list[str] | None = None,
) -> str:
    """A one-instance keepalived.conf for a lab router."""
    lines = [
        "global_defs {", f"    router_id r{router.index}", "}",
        "vrrp_instance VI_1 {", "    state BACKUP", "    interface eth0", "    virtual_router_id 51",
        f"    priority {priority}", f"    advert_int {advert_int:g}", f"    version {version}",
    ]  # fmt: skip
    if peers:
        lines += [
            f"    unicast_src_ip {router.address}",
            "    unicast_peer {",
            *(f"        {p}" for p in peers),
            "    }",
        ]
    if extra:
        lines += [f"    {line}" for line in extra.splitlines()]
    lines += ["    virtual_ipaddress {", f"        {vip}/32 dev eth0", "    }", "}"]
    return "\n".join(lines) + "\n"
