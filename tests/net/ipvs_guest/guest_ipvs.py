"""Run inside the user-mode-linux guest (tests/net/test_ipvs_in_user_mode_linux.py boots it): a kernel with
IPVS. The IPVS backend against the real kernel, and keepalived beside pykeepalived on one configuration."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pykeepalived.cli import ipvsadm as pyipvsadm
from pykeepalived.io.ipvs import IpvsPlane, read_kernel_table
from pykeepalived.lb.listing import listing
from pykeepalived.lb.table import (
    AddDestination,
    Destination,
    DestinationKey,
    IpProtocol,
    Service,
    ServiceKey,
    Table,
    plan,
)

SCHEDULERS = ("rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh")
PYKEEPALIVED = str(Path(sys.executable).with_name("pykeepalived"))
REAL_SERVERS = {"rs1": "10.99.0.11", "rs2": "10.99.0.12"}

if os.environ.get("PYKEEPALIVED_IN_UML") != "1":
    raise RuntimeError("this runs inside the IPVS guest: tests/net/test_ipvs_in_user_mode_linux.py boots it")


def ipvsadm() -> str:
    return subprocess.run(["ipvsadm", "-Ln"], capture_output=True, text=True, check=True).stdout


def members(*entries: tuple[str, int, int, str]) -> dict[DestinationKey, Destination]:
    return {
        DestinationKey(address, port): Destination(weight, forwarding) for address, port, weight, forwarding in entries
    }


def every_kind_of_service() -> Table:
    table: dict[ServiceKey, Service] = {
        ServiceKey(IpProtocol.UDP, "10.99.0.200", 1000 + index): Service(
            name, destinations=members(("10.99.0.11", 53, 1, "NAT"))
        )
        for index, name in enumerate(SCHEDULERS)
    }
    table[ServiceKey(IpProtocol.TCP, "10.99.0.100", 80)] = Service("wrr", destinations={
        DestinationKey("10.99.0.11", 8080): Destination(2, "NAT", upper_threshold=100, lower_threshold=50),
        DestinationKey("10.99.0.12", 8080): Destination(1, "NAT"),
    })  # fmt: skip
    table[ServiceKey(IpProtocol.TCP, "10.99.0.100", 443)] = Service(
        "sh",
        300,
        "255.255.255.0",
        members(("10.99.0.11", 443, 1, "DR"), ("10.99.0.12", 443, 3, "TUN")),
        ("sh-fallback", "sh-port"),
    )
    table[ServiceKey(IpProtocol.TCP, fwmark=42)] = Service("rr", destinations=members(("10.99.0.13", 0, 1, "DR")))
    table[ServiceKey(IpProtocol.TCP, fwmark=43)] = Service("rr", destinations=members(("fd00:99::13", 0, 1, "DR")))
    table[ServiceKey(IpProtocol.TCP, "fd00:99::100", 443)] = Service(
        "wlc", 60, "64", members(("fd00:99::11", 443, 1, "NAT"), ("fd00:99::12", 443, 0, "NAT"))
    )
    return table


def test_the_backend_programs_the_kernel_and_reads_it_back_as_ipvsadm_lists_it() -> None:
    subprocess.run(["ipvsadm", "-C"], check=True)
    backend = IpvsPlane(logging.getLogger("guest"))
    table = every_kind_of_service()
    backend.apply(plan(table, backend.read()))
    kernel = read_kernel_table()
    assert kernel.table == table
    assert listing(kernel.table, kernel.counts) == ipvsadm()
    assert plan(table, kernel.table) == []

    changed = dict(table)
    changed[ServiceKey(IpProtocol.TCP, "10.99.0.100", 80)] = Service("mh", destinations={
        DestinationKey("10.99.0.11", 8080): Destination(5, "NAT"),
    })  # fmt: skip
    del changed[ServiceKey(IpProtocol.TCP, fwmark=42)]
    backend.apply(plan(changed, backend.read()))
    kernel = read_kernel_table()
    assert kernel.table == changed
    assert listing(kernel.table, kernel.counts) == ipvsadm()

    # A real server deleted by hand is seen by read(), and the next plan puts it back.
    subprocess.run(["ipvsadm", "-d", "-t", "10.99.0.100:80", "-r", "10.99.0.11:8080"], check=True)
    assert plan(changed, backend.read()) == [
        AddDestination(
            ServiceKey(IpProtocol.TCP, "10.99.0.100", 80), DestinationKey("10.99.0.11", 8080), Destination(5, "NAT")
        )
    ]
    assert backend.stats()[ServiceKey(IpProtocol.TCP, "10.99.0.100", 80)] == {}

    backend.close()
    assert read_kernel_table().table == {}


DIFFERENTIAL_CONFIG = """global_defs {
    router_id ipvs-differential
    lvs_timeouts tcp 7200 tcpfin 100 udp 200
}
virtual_server 10.99.0.100 80 {
    delay_loop 1
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    real_server 10.99.0.11 8080 {
        weight 2
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 10.99.0.12 8080 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
virtual_server 10.99.0.100 8080 {
    delay_loop 1
    lb_algo sh
    lb_kind DR
    persistence_timeout 300
    persistence_granularity 255.255.255.0
    protocol TCP
    real_server 10.99.0.11 8080 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 10.99.0.12 8080 {
        weight 3
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
virtual_server fwmark 7 {
    delay_loop 1
    lb_algo lc
    lb_kind TUN
    persistence_granularity 255.255.0.0
    protocol TCP
    real_server 10.99.0.12 8080 {
        weight 4
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
"""


@contextmanager
def real_servers(work: Path) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """Two namespaces behind a bridge in the guest, each with a web server on 8080."""
    subprocess.run(["ip", "link", "add", "br-rs", "type", "bridge"], check=True)
    subprocess.run(["ip", "addr", "add", "10.99.0.1/24", "dev", "br-rs"], check=True)
    subprocess.run(["ip", "link", "set", "br-rs", "up"], check=True)
    servers: dict[str, subprocess.Popen[bytes]] = {}
    for name, address in REAL_SERVERS.items():
        for command in (
            ["ip", "netns", "add", name],
            ["ip", "link", "add", f"{name}-h", "type", "veth", "peer", "name", "eth0", "netns", name],
            ["ip", "link", "set", f"{name}-h", "master", "br-rs", "up"],
            ["ip", "-n", name, "addr", "add", f"{address}/24", "dev", "eth0"],
            ["ip", "-n", name, "link", "set", "eth0", "up"],
            ["ip", "-n", name, "link", "set", "lo", "up"],
        ):
            subprocess.run(command, check=True)
        servers[name] = start_server(name, address, work)
    try:
        yield servers
    finally:
        for server in servers.values():
            server.terminate()
            server.wait()
        for name in REAL_SERVERS:
            subprocess.run(["ip", "netns", "del", name], check=True)
        subprocess.run(["ip", "link", "del", "br-rs"], check=True)


def start_server(name: str, address: str, work: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["ip", "netns", "exec", name, sys.executable, "-m", "http.server", "8080", "--bind", address,
         "--directory", str(work)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def wait_until(condition: Callable[[], bool], within: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"{what}; ipvsadm -Ln:\n{ipvsadm()}\nlog:\n{log.read_text()}"
        time.sleep(0.2)


def tables_seen(daemon: list[str], servers: dict[str, subprocess.Popen[bytes]], work: Path) -> tuple[str, str]:
    """ipvsadm -Ln with every real server up, then with rs1 down; the daemon is stopped afterwards."""
    subprocess.run(["ipvsadm", "-C"], check=True)
    subprocess.run(["ipvsadm", "--set", "900", "120", "300"], check=True)
    with open(work / "daemon.log", "ab") as log:
        process = subprocess.Popen(daemon, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(
            lambda: ipvsadm().count("  -> 10.99.0.") == 5, 30, "not every real server was added", work / "daemon.log"
        )
        timeouts = subprocess.run(["ipvsadm", "-Ln", "--timeout"], capture_output=True, text=True).stdout
        everything_up = ipvsadm() + timeouts
        servers["rs1"].terminate()
        servers["rs1"].wait()
        wait_until(lambda: "10.99.0.11" not in ipvsadm(), 30, "the failed real server stayed", work / "daemon.log")
        one_down = ipvsadm()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        servers["rs1"] = start_server("rs1", REAL_SERVERS["rs1"], work)
    return everything_up, one_down


def test_keepalived_and_pykeepalived_program_the_same_ipvs_table() -> None:
    work = Path(tempfile.mkdtemp())
    (work / "keepalived.conf").write_text(DIFFERENTIAL_CONFIG)
    with real_servers(work) as servers:
        keepalived = tables_seen(
            ["keepalived", "-C", "-n", "-l", "-f", str(work / "keepalived.conf"),
             "-p", str(work / "k.pid"), "-c", str(work / "k-checkers.pid")],
            servers, work,
        )  # fmt: skip
        time.sleep(1.5)  # the web server back in rs1
        ours = tables_seen(
            [PYKEEPALIVED, "-C", "-n", "-l", "-G", "--dataplane", "ipvs", "-f", str(work / "keepalived.conf"),
             "-p", str(work / "p.pid"), "-c", str(work / "p-checkers.pid")],
            servers, work,
        )  # fmt: skip
    print("keepalived, every real server up:", keepalived[0], "keepalived, rs1 down:", keepalived[1], sep="\n")
    print((work / "daemon.log").read_text())
    assert ours == keepalived


IPVSADM_SESSION = [
    "-A -t 10.99.0.100:80 -s wrr",
    "-a -t 10.99.0.100:80 -r 10.99.0.11:8080 -m -w 2 -x 100 -y 50",
    "-a -t 10.99.0.100:80 -r 10.99.0.12:8080 -m",
    "-A -u 10.99.0.100:53 -s sh -b sh-port,sh-fallback -p 60 -M 255.255.255.0",
    "-a -u 10.99.0.100:53 -r 10.99.0.11 -g",
    "-A -f 7 -s lc",
    "-a -f 7 -r 10.99.0.12 -i -w 4",
    "-A -f 8 -s rr -p 300 -M 255.255.0.0",
    "-a -f 8 -r 10.99.0.11 -g",
    "-A -t [fd00::100]:443 -s rr -p -M 64",
    "-a -t [fd00::100]:443 -r [fd00::11]:443 -m",
    "-A -t 10.99.0.100:80 -s wrr",
    "-a -t 10.99.0.100:81 -r 10.99.0.11:8080 -m",
    "-d -t 10.99.0.100:80 -r 10.99.0.99:8080",
    "-A -t 10.99.0.100:82 -s nosuch",
    "-Ln",
    "-S -n",
    "-L",
    "-S",
    "-L --stats",
    "-Ln --stats",
    "-Ln --rate",
    "-Ln --exact --stats",
    "-Ln --thresholds",
    "-Ln --persistent-conn",
    "-Ln -t 10.99.0.100:80",
    "--set 7200 100 200",
    "-Ln --timeout",
    "--set 0 0 250",
    "-L --timeout",
    "-Z",
    "-Z -t 10.99.0.100:80",
    "-Z -t 10.99.0.100:99",
    "-E -t 10.99.0.100:80 -s rr -p 30",
    "-e -t 10.99.0.100:80 -r 10.99.0.12:8080 -m -w 0",
    "-e -t 10.99.0.100:80 -r 10.99.0.13:8080 -m -w 0",
    "-Ln",
    "-D -t 10.99.0.100:80",
    "-D -t 10.99.0.100:80",
    "-Ln",
    "--start-daemon master --mcast-interface syncd0 --syncid 7",
    "--start-daemon backup --mcast-interface syncd0 --syncid 9 --sync-maxlen 1400 --mcast-group 239.1.1.1 "
    "--mcast-port 8850 --mcast-ttl 2",
    "-L --daemon",
    "--start-daemon master --mcast-interface syncd0 --syncid 8",
    "--stop-daemon master",
    "--stop-daemon master",
    "-L --daemon",
    "--stop-daemon backup",
    "-L --daemon",
]


def multicast_interface(name: str) -> None:
    """A dummy interface that takes multicast, for IPVS's sync daemons."""
    if not Path(f"/sys/class/net/{name}").exists():
        subprocess.run(["ip", "link", "add", name, "type", "dummy"], check=True)
        subprocess.run(["ip", "link", "set", name, "multicast", "on", "up"], check=True)


Outcome = tuple[int, str, str]  # exit status, standard output, standard error
Runner = Callable[[list[str], str], Outcome]


def ipvsadm_process(arguments: list[str], stdin: str) -> Outcome:
    done = subprocess.run(["ipvsadm", *arguments], input=stdin, capture_output=True, text=True)
    return done.returncode, done.stdout, done.stderr


def pyipvsadm_in_process(arguments: list[str], stdin: str) -> Outcome:
    """pyipvsadm's main() in this process: a process of its own costs 2 s under user-mode-linux, 50 of them
    most of this test's time (one real process is compared at the end)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), replaced_stdin(stdin):
        try:
            status = pyipvsadm.main(arguments)
        except SystemExit as leaving:  # argparse's usage errors
            status = leaving.code if isinstance(leaving.code, int) else 1
    return status, out.getvalue(), err.getvalue()


@contextmanager
def replaced_stdin(text: str) -> Iterator[None]:
    kept = sys.stdin
    sys.stdin = io.StringIO(text)
    try:
        yield
    finally:
        sys.stdin = kept


def session(run: Runner) -> list[tuple[str, int, str, str]]:
    """Each command's exit status, output and message, from an empty table; the table is emptied after."""
    multicast_interface("syncd0")
    subprocess.run(["ipvsadm", "-C"], check=True)
    seen = []
    for command in IPVSADM_SESSION:
        status, out, err = run(command.split(), "")
        seen.append((command, status, out, err.strip()))
    status, saved, err = run(["-S", "-n"], "")
    assert status == 0, err
    run(["-C"], "")
    status, _, err = run(["-R"], saved)
    seen.append(("-R", status, ipvsadm(), err.strip()))
    subprocess.run(["ipvsadm", "-C"], check=True)
    return seen


def test_pyipvsadm_answers_every_command_as_ipvsadm_does() -> None:
    theirs = session(ipvsadm_process)
    ours = session(pyipvsadm_in_process)
    for (command, *expected), (_, *got) in zip(theirs, ours, strict=True):
        assert got == expected, f"ipvsadm {command}"
    # The installed command itself, as a process, on a table ipvsadm made.
    subprocess.run(["ipvsadm", "-A", "-t", "10.99.0.100:80", "-s", "wrr"], check=True)
    subprocess.run(["ipvsadm", "-a", "-t", "10.99.0.100:80", "-r", "10.99.0.11:8080", "-m", "-w", "3"], check=True)
    listed = subprocess.run([str(Path(sys.executable).with_name("pyipvsadm")), "-Ln"], capture_output=True, text=True)
    assert (listed.returncode, listed.stdout) == (0, ipvsadm())
    subprocess.run(["ipvsadm", "-C"], check=True)


def test_what_the_kernel_already_has_is_taken_over_kept_or_flushed_as_keepalived_does() -> None:
    subprocess.run(["ipvsadm", "-C"], check=True)
    foreign, ours = ServiceKey(IpProtocol.TCP, "10.99.0.250", 80), ServiceKey(IpProtocol.TCP, "10.99.0.100", 80)
    subprocess.run(["ipvsadm", "-A", "-t", "10.99.0.250:80", "-s", "rr"], check=True)
    subprocess.run(["ipvsadm", "-A", "-t", "10.99.0.100:80", "-s", "rr"], check=True)
    subprocess.run(["ipvsadm", "-a", "-t", "10.99.0.100:80", "-r", "10.99.0.11:8080", "-m", "-w", "7"], check=True)
    reals = members(("10.99.0.11", 8080, 2, "NAT"), ("10.99.0.12", 8080, 1, "NAT"))
    wanted = {ours: Service("wrr", destinations=reals)}
    backend = IpvsPlane(logging.getLogger("guest"))
    backend.apply(plan(wanted, backend.read(wanted)))
    kernel = read_kernel_table().table
    assert kernel[ours] == wanted[ours]  # an earlier run's service, taken over and set as configured
    assert foreign in kernel
    backend.close()
    assert set(read_kernel_table().table) == {foreign}  # only ours are removed at stop

    IpvsPlane(logging.getLogger("guest"), flush_at_start=True).shutdown()
    assert read_kernel_table().table == {}  # lvs_flush
    subprocess.run(["ipvsadm", "-A", "-t", "10.99.0.250:80", "-s", "rr"], check=True)
    IpvsPlane(logging.getLogger("guest"), flush_at_stop=True).close()
    assert read_kernel_table().table == {}  # lvs_flush_onstop


SYNC_DAEMON_CONFIG = """
global_defs {
    lvs_sync_daemon vrrp0 VI_1 maxlen 1400 ttl 2
}
vrrp_instance VI_1 {
    state BACKUP
    interface vrrp0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        10.99.5.100/24
    }
}
"""


def sync_daemons_seen(daemon: list[str], work: Path) -> list[str]:
    """`ipvsadm -L --daemon` in the VRRP namespace each time it changes: from start, through the instance
    becoming master, to a second after the daemon stops."""
    in_namespace = ["ip", "netns", "exec", "lvs-vrrp"]

    def listed() -> str:
        return subprocess.run([*in_namespace, "ipvsadm", "-L", "--daemon"], capture_output=True, text=True).stdout

    seen = [listed()]
    with open(work / "vrrp.log", "ab") as log:
        process = subprocess.Popen([*in_namespace, *daemon], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while "master" not in seen[-1] and time.monotonic() < deadline:
            now = listed()
            if now != seen[-1]:
                seen.append(now)
            time.sleep(0.1)
        time.sleep(1.0)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    time.sleep(1.0)
    if listed() != seen[-1]:
        seen.append(listed())
    return seen


def test_lvs_sync_daemon_follows_the_vrrp_instance_as_keepalived_runs_it() -> None:
    work = Path(tempfile.mkdtemp())
    (work / "keepalived.conf").write_text(SYNC_DAEMON_CONFIG)
    for command in (
        ["ip", "netns", "add", "lvs-vrrp"],
        ["ip", "-n", "lvs-vrrp", "link", "add", "vrrp0", "type", "veth", "peer", "name", "vrrp0p"],
        ["ip", "-n", "lvs-vrrp", "addr", "add", "10.99.5.1/24", "dev", "vrrp0"],
        ["ip", "-n", "lvs-vrrp", "link", "set", "vrrp0p", "up"],
        ["ip", "-n", "lvs-vrrp", "link", "set", "vrrp0", "up"],
    ):
        subprocess.run(command, check=True)
    config = str(work / "keepalived.conf")
    keepalived = sync_daemons_seen(
        ["keepalived", "-P", "-n", "-l", "-f", config, "-p", str(work / "k.pid"), "-r", str(work / "k-vrrp.pid")],
        work,
    )
    ours = sync_daemons_seen(
        [PYKEEPALIVED, "-P", "-n", "-l", "-G", "-f", config, "-p", str(work / "p.pid"), "-r", str(work / "p-vrrp.pid")],
        work,
    )
    print("keepalived's sync daemons:", *keepalived, sep="\n")
    print((work / "vrrp.log").read_text())
    assert keepalived[-1] == "" and any("master sync daemon" in seen for seen in keepalived)
    assert ours == keepalived


HOLD_CONNECTIONS = """
import socket, sys, time
held = [socket.create_connection(("10.99.0.100", 80), timeout=5) for _ in range(3)]
held[0].sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
print("ready", flush=True)
sys.stdin.read()
"""


@contextmanager
def lvs_nat_client() -> Iterator[None]:
    """A client namespace on a network of its own, routed through the guest, which holds the VIP 10.99.0.100."""
    for command in (
        ["sysctl", "-qw", "net.ipv4.ip_forward=1"],
        ["ip", "addr", "add", "10.99.0.100/32", "dev", "lo"],
        ["ip", "link", "add", "br-cl", "type", "bridge"],
        ["ip", "addr", "add", "10.99.1.1/24", "dev", "br-cl"],
        ["ip", "link", "set", "br-cl", "up"],
        ["ip", "netns", "add", "client"],
        ["ip", "link", "add", "client-h", "type", "veth", "peer", "name", "eth0", "netns", "client"],
        ["ip", "link", "set", "client-h", "master", "br-cl", "up"],
        ["ip", "-n", "client", "addr", "add", "10.99.1.50/24", "dev", "eth0"],
        ["ip", "-n", "client", "link", "set", "eth0", "up"],
        ["ip", "-n", "client", "route", "add", "default", "via", "10.99.1.1"],
    ):
        subprocess.run(command, check=True)
    try:
        yield
    finally:
        subprocess.run(["ip", "netns", "del", "client"], check=True)
        subprocess.run(["ip", "link", "del", "br-cl"], check=True)
        subprocess.run(["ip", "addr", "del", "10.99.0.100/32", "dev", "lo"], check=True)


def test_pyipvsadm_lists_connections_as_ipvsadm_does() -> None:
    """LVS-NAT in the guest: a client namespace routed through the guest to a service over both real servers."""
    work = Path(tempfile.mkdtemp())
    with real_servers(work), lvs_nat_client():
        for command in (
            *(["ip", "-n", name, "route", "add", "default", "via", "10.99.0.1"] for name in REAL_SERVERS),
            ["ipvsadm", "-C"],
            ["ipvsadm", "-A", "-t", "10.99.0.100:80", "-s", "rr"],
            ["ipvsadm", "-a", "-t", "10.99.0.100:80", "-r", "10.99.0.11:8080", "-m"],
            ["ipvsadm", "-a", "-t", "10.99.0.100:80", "-r", "10.99.0.12:8080", "-m"],
        ):
            subprocess.run(command, check=True)
        client = subprocess.Popen(
            ["ip", "netns", "exec", "client", sys.executable, "-c", HOLD_CONNECTIONS],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert client.stdout is not None and client.stdout.readline() == "ready\n"
            time.sleep(0.5)  # the first connection's request answered and closed by the server
            ours_program = [str(Path(sys.executable).with_name("pyipvsadm")), "-Lnc"]
            # Times left tick down while pyipvsadm starts: ipvsadm's listings just before and after bracket each.
            before, ours, after = (
                subprocess.run(program, capture_output=True, text=True, check=True).stdout
                for program in (["ipvsadm", "-Lnc"], ours_program, ["ipvsadm", "-Lnc"])
            )
        finally:
            client.communicate("", timeout=10)
        subprocess.run(["ipvsadm", "-C"], check=True)
    print("ipvsadm -Lnc:", before, "pyipvsadm -Lnc:", ours, "ipvsadm -Lnc:", after, sep="\n")
    assert before.count("ESTABLISHED") >= 2
    assert ours.splitlines()[:2] == before.splitlines()[:2]
    ours_rows, before_rows, after_rows = (connection_rows(listing) for listing in (ours, before, after))
    assert ours_rows.keys() == before_rows.keys() == after_rows.keys()
    for row, expire in ours_rows.items():
        assert after_rows[row] <= expire <= before_rows[row], row


def connection_rows(listing: str) -> dict[tuple[str, ...], int]:
    """Each connection's columns but its expire time, and the seconds it has left (ticking, so compared apart)."""
    rows = {}
    for line in listing.splitlines()[2:]:
        protocol, expire, *rest = line.split()
        minutes, seconds = expire.split(":")
        rows[(protocol, *rest)] = int(minutes) * 60 + int(seconds)
    return rows


def test_thousands_of_real_servers_in_one_batch_reach_the_kernel() -> None:
    subprocess.run(["ipvsadm", "-C"], check=True)
    key = ServiceKey(IpProtocol.TCP, "10.99.0.200", 80)
    reals = {DestinationKey(f"10.99.{20 + n // 250}.{1 + n % 250}", 8080): Destination(1, "NAT") for n in range(5000)}
    backend = IpvsPlane(logging.getLogger("guest"))
    started = time.perf_counter()
    backend.apply(plan({key: Service("wrr", destinations=reals)}, backend.read()))
    elapsed = time.perf_counter() - started
    assert read_kernel_table().table[key] == Service("wrr", destinations=reals)
    backend.close()
    commands = "-A -t 10.99.0.200:80 -s wrr\n" + "".join(
        f"-a -t 10.99.0.200:80 -r {real.address}:8080 -m -w 1\n" for real in reals
    )
    started = time.perf_counter()
    subprocess.run(["ipvsadm", "-R"], input=commands, text=True, check=True)
    theirs = time.perf_counter() - started
    subprocess.run(["ipvsadm", "-C"], check=True)
    print(f"5,000 real servers added to one IPVS service: {elapsed * 1000:.0f} ms; ipvsadm -R {theirs * 1000:.0f} ms")
