"""What reaches syslog, beside Debian's keepalived 2.2.7 given the same configuration and options.

Each daemon runs in a lab namespace with a mount namespace of its own whose /dev/log is a datagram socket the
test owns: what glibc's syslog(3) and our handler send there is what rsyslog or journald would receive.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pykeepalived.lab.netns import Lab, Router, pykeepalived_command, vrrp_config

REPOSITORY = Path(__file__).resolve().parents[2]
LOCAL3 = 19
PRIORITIES = {"err": 3, "warning": 4, "info": 6, "debug": 7}
# glibc's syslog(3): <PRI>Mmm dd hh:mm:ss IDENT[PID]: MESSAGE
LINE = re.compile(r"<(\d+)>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d ([^\[\]: ]+)\[(\d+)\]: (.*)", re.DOTALL)
# A private /dev (so /dev/log can be our socket's name), with the devices the daemons open.
PRIVATE_DEV = (
    "mount -t tmpfs tmpfs /dev && mknod -m 666 /dev/null c 1 3 && mknod -m 666 /dev/zero c 1 5 && "
    'mknod -m 666 /dev/urandom c 1 9 && mknod -m 666 /dev/random c 1 8 && ln -s "$0" /dev/log && exec "$@"'
)


@dataclass(frozen=True)
class Entry:
    facility: int
    priority: int
    ident: str
    message: str


def run_logging(lab: Lab, router: Router, tmp_path: Path, daemon: list[str], config: str, *options: str) -> list[Entry]:
    """Run `daemon` until its VIP is up, stop it, and return everything it sent to /dev/log."""
    directory = tmp_path / secrets.token_hex(3)
    directory.mkdir()
    (directory / "keepalived.conf").write_text(config)
    log_socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    log_socket.bind(str(directory / "log"))
    process = subprocess.Popen(
        ["ip", "netns", "exec", router.namespace, "unshare", "--mount", "--propagation", "private",
         "sh", "-c", PRIVATE_DEV, str(directory / "log"), *daemon, "-n", "-P", *options,
         "-f", str(directory / "keepalived.conf"), "-p", str(directory / "parent.pid"),
         "-r", str(directory / "vrrp.pid")],
        env={**os.environ, "PYTHONPATH": str(REPOSITORY / "src")},
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    lab.started.append(process)
    # Read as syslog does, all along: a unix socket queues ten datagrams, then the sender's syslog() waits.
    datagrams: list[str] = []
    log_socket.settimeout(0.5)

    def read() -> None:
        while process.poll() is None or datagrams[-1:] != [""]:
            try:
                datagrams.append(log_socket.recv(65536).decode())
            except TimeoutError:
                if process.poll() is not None:
                    datagrams.append("")

    reader = threading.Thread(target=read)
    reader.start()
    try:
        assert lab.wait_for_holder("10.99.1.1", timeout=15) is router
        time.sleep(0.5)
        process.terminate()
        process.wait(15)
    finally:
        if process.poll() is None:
            process.kill()
        reader.join(30)
        log_socket.close()
    entries: list[Entry] = []
    for datagram in datagrams[:-1]:
        match = LINE.fullmatch(datagram)
        assert match is not None, datagram
        code, ident, _, message = match.groups()
        entries.append(Entry(int(code) >> 3, int(code) & 7, ident, message))
    return entries


def priority_of(entries: list[Entry], ident: str, fragment: str) -> int:
    found = [entry.priority for entry in entries if entry.ident == ident and fragment in entry.message]
    assert found, (ident, fragment, entries)
    return found[0]


def test_idents_facility_and_priorities_beside_keepalived(tmp_path: Path) -> None:
    with Lab(f"pl{secrets.token_hex(3)}", routers=1) as lab:
        router = lab.routers[0]
        config = "bogus_keyword 1\n" + vrrp_config(router, 150, extra="notify_master /nonexistent/notify.sh")
        theirs = run_logging(lab, router, tmp_path, ["keepalived"], config, "-S", "3", "-D")
        ours = run_logging(lab, router, tmp_path, pykeepalived_command(), config, "-S", "3", "-D")
    for entries in (theirs, ours):
        assert {entry.facility for entry in entries} == {LOCAL3}
        assert {entry.ident for entry in entries} == {"Keepalived", "Keepalived_vrrp"}
        # The parent starts, the VRRP process changes state.
        assert priority_of(entries, "Keepalived", "Starting VRRP child process") == PRIORITIES["info"]
        assert priority_of(entries, "Keepalived", "Startup complete") == PRIORITIES["info"]
        assert priority_of(entries, "Keepalived_vrrp", "(VI_1) Entering MASTER STATE") == PRIORITIES["info"]
        # Both the parent and the VRRP process report the configuration's messages as they read it.
        for ident in ("Keepalived", "Keepalived_vrrp"):
            priority_of(entries, ident, "Unknown keyword 'bogus_keyword'")
    # keepalived logs nearly everything at info; ours says what each message is.
    assert {entry.priority for entry in theirs} == {PRIORITIES["info"]}
    assert priority_of(ours, "Keepalived_vrrp", "Unknown keyword 'bogus_keyword'") == PRIORITIES["warning"]
    assert (
        priority_of(ours, "Keepalived_vrrp", "Script /nonexistent/notify.sh cannot be accessed")
        == PRIORITIES["warning"]
    )
    # -D details ("sent 0 priority" on stop): keepalived at info, ours at debug.
    assert priority_of(theirs, "Keepalived_vrrp", "(VI_1) sent 0 priority") == PRIORITIES["info"]
    assert priority_of(ours, "Keepalived_vrrp", "(VI_1) sent 0 priority") == PRIORITIES["debug"]


def test_namespace_and_instance_name_the_idents_as_keepalived(tmp_path: Path) -> None:
    with Lab(f"pl{secrets.token_hex(3)}", routers=1) as lab:
        router = lab.routers[0]
        config = "instance blue\n" + vrrp_config(router, 150)
        # Started inside the namespace they are told to enter (-s): the same namespace, so no packet leaves it.
        options = ("-s", router.namespace)
        theirs = run_logging(lab, router, tmp_path, ["keepalived"], config, *options)
        ours = run_logging(lab, router, tmp_path, pykeepalived_command(), config, *options)
    # The parent logs its first lines as plain Keepalived, until it has read the file.
    expected = {"Keepalived", f"Keepalived_{router.namespace}_blue", f"Keepalived_vrrp_{router.namespace}_blue"}
    assert {entry.ident for entry in theirs} == {entry.ident for entry in ours} == expected
    change = f"Changing syslog ident to Keepalived_{router.namespace}_blue"
    for entries in (theirs, ours):
        assert [entry.ident for entry in entries if entry.message == change] == ["Keepalived"]
    assert {entry.facility for entry in ours} == {3}
    assert not Path(f"/run/keepalived/{router.namespace}").exists()
