"""systemd's side of the daemon: what a Type=notify unit hears on its NOTIFY_SOCKET (a real datagram socket the
test owns), and the unit file shipped in deploy/ as `systemd-analyze verify` sees it."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from pyroute2.netns import popns, pushns

from pykeepalived.lab.netns import Lab, pykeepalived_command, vrrp_config

REPOSITORY = Path(__file__).resolve().parents[2]
UNIT = REPOSITORY / "deploy" / "systemd" / "pykeepalived.service"


class NotifySocket:
    """The service manager's end: every datagram the daemon sends, with when it came."""

    def __init__(self, address: str, namespace: str | None = None) -> None:
        self.address = address
        # An abstract address belongs to the network namespace the socket is made in.
        if namespace is not None:
            pushns(namespace)
        try:
            self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        finally:
            if namespace is not None:
                popns()
        self.socket.bind("\0" + address[1:] if address.startswith("@") else address)
        self.received: list[tuple[float, dict[str, str]]] = []

    def next(self, key: str, within: float) -> dict[str, str]:
        """The next message carrying `key` (the others are kept in `received`)."""
        deadline = time.monotonic() + within
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {key} within {within} s; received {self.received}"
            self.socket.settimeout(remaining)
            data = self.socket.recv(4096).decode()
            fields = dict(line.split("=", 1) for line in data.split("\n") if line)
            self.received.append((time.monotonic(), fields))
            if key in fields:
                return fields

    def close(self) -> None:
        self.socket.close()


def environment(address: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "NOTIFY_SOCKET": address, "PYTHONPATH": str(REPOSITORY / "src"), **extra}


def test_ready_reloading_stopping_and_watchdog(tmp_path: Path) -> None:
    with Lab(f"ps{secrets.token_hex(3)}", routers=1) as lab:
        router = lab.routers[0]
        config = tmp_path / "keepalived.conf"
        config.write_text(vrrp_config(router, 150))
        notify = NotifySocket(str(tmp_path / "notify"))
        vrrp_pidfile = tmp_path / "vrrp.pid"
        command = [*pykeepalived_command(), "-n", "-l", "-G", "-P", "-f", str(config),
                   "-p", str(tmp_path / "parent.pid"), "-r", str(vrrp_pidfile)]  # fmt: skip
        daemon = subprocess.Popen(
            ["ip", "netns", "exec", router.namespace, *command],
            env=environment(notify.address, WATCHDOG_USEC="300000"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lab.started.append(daemon)
        try:
            ready = notify.next("READY", within=20)
            # ip netns exec runs the daemon in its own process: MAINPID is the pid systemd started.
            assert ready == {"READY": "1", "MAINPID": str(daemon.pid)}
            # Ready means the VRRP process runs its configuration, as keepalived's "Startup complete".
            vrrp = int(vrrp_pidfile.read_text())
            environ = Path(f"/proc/{vrrp}/environ").read_bytes().split(b"\0")
            assert not any(variable.startswith((b"NOTIFY_SOCKET=", b"WATCHDOG_")) for variable in environ)

            started = time.monotonic()
            notify.next("WATCHDOG", within=1)
            notify.next("WATCHDOG", within=1)
            # Half WATCHDOG_USEC apart, as sd_watchdog_enabled(3) advises.
            pings = [at for at, fields in notify.received if "WATCHDOG" in fields and at >= started]
            assert 0.1 < pings[-1] - pings[-2] < 0.3, pings

            os.kill(daemon.pid, signal.SIGHUP)
            reloading = notify.next("RELOADING", within=5)
            assert reloading["RELOADING"] == "1"
            assert 0 < int(reloading["MONOTONIC_USEC"]) <= time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
            assert notify.next("READY", within=5) == ready

            os.kill(daemon.pid, signal.SIGTERM)
            assert notify.next("STOPPING", within=5) == {"STOPPING": "1"}
            log, _ = daemon.communicate(timeout=15)
        finally:
            notify.close()
            if daemon.poll() is None:
                daemon.kill()
    assert daemon.returncode == 0, log
    assert log.index("Startup complete") < log.index("Reload complete") < log.index("Stopping")


def test_abstract_socket_and_a_daemon_that_enters_its_namespace(tmp_path: Path) -> None:
    # An abstract address belongs to the network namespace it was bound in: the daemon (-s) must open its
    # socket before it enters the router's namespace. It is started in another namespace (never in the
    # machine's) and enters the router's at once, before reading its configuration.
    address = f"@pykeepalived-test-{secrets.token_hex(4)}"
    with Lab(f"ps{secrets.token_hex(3)}", routers=2) as lab:
        router, launcher = lab.routers
        config = tmp_path / "keepalived.conf"
        config.write_text(vrrp_config(router, 150))
        notify = NotifySocket(address, launcher.namespace)
        command = ["ip", "netns", "exec", launcher.namespace, *pykeepalived_command(), "-n", "-l", "-G", "-P",
                   "-s", router.namespace, "-f", str(config),
                   "-p", str(tmp_path / "parent.pid"), "-r", str(tmp_path / "vrrp.pid")]  # fmt: skip
        daemon = subprocess.Popen(
            command, env=environment(address), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True
        )
        lab.started.append(daemon)
        try:
            assert notify.next("READY", within=20)["MAINPID"] == str(daemon.pid)
            assert lab.wait_for_holder("10.99.1.1", timeout=10) is router
            os.kill(daemon.pid, signal.SIGTERM)
            notify.next("STOPPING", within=5)
            log, _ = daemon.communicate(timeout=15)
        finally:
            notify.close()
            if daemon.poll() is None:
                daemon.kill()
    assert daemon.returncode == 0, log


def test_the_shipped_unit_verifies(tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    assert tool is not None, "systemd-analyze is missing: install Debian's systemd package"
    # The unit runs /usr/local/bin/pykeepalived, as its install notes say to provide; this test provides it in
    # a mount namespace of its own (a tmpfs over /usr/local/bin), so the machine's stays as it is.
    daemon = Path(sys.executable).with_name("pykeepalived")
    assert daemon.exists(), daemon
    script = f'mount -t tmpfs tmpfs /usr/local/bin && ln -s {daemon} /usr/local/bin/pykeepalived && exec "$@"'
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", tool, "verify", str(UNIT)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    unit = UNIT.read_text()
    for line in ("Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure",
                 "EnvironmentFile=-/etc/default/pykeepalived", "ConditionFileNotEmpty=/etc/keepalived/keepalived.conf",
                 "ExecStart=/usr/local/bin/pykeepalived --dont-fork $DAEMON_ARGS"):  # fmt: skip
        assert line in unit.splitlines(), line
    assert (REPOSITORY / "deploy" / "default" / "pykeepalived").read_text().count('DAEMON_ARGS=""') == 1
