"""keepalived's flags that change what the daemon does, beside Debian's keepalived 2.2.7 where it shows the
reference: -V (keep VIPs on stop), -s and net_namespace (run in a network namespace, pid files named after it),
-m (core dumps), -u (umask), --all (every child process)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sniffers import IPV4, sniffer

from pykeepalived.lab.netns import Lab, pykeepalived_command, run, vrrp_config

REPOSITORY = Path(__file__).resolve().parents[2]
VIP = "10.99.1.1"
# Prints the priority of every VRRP advert the client's link sees.
ADVERT_PRIORITIES = sniffer(
    IPV4,
    """
    if frame[23] == 112:
        print(frame[14 + (frame[14] & 15) * 4 + 2], flush=True)
    """,
)


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPOSITORY / "src")}


def start_in(lab: Lab, namespace: str, command: list[str]) -> subprocess.Popen[str]:
    """A daemon in one of the lab's namespaces, its log (standard output and error) read as text; the lab ends it."""
    process = subprocess.Popen(
        ["ip", "netns", "exec", namespace, *command],
        env=environment(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lab.started.append(process)
    return process


def wait_for(path: Path, within: float) -> None:
    deadline = time.monotonic() + within
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.01)


def vip_line(lab: Lab, namespace: str) -> str:
    """`ip -o addr` of the VIP with its lifetimes, or '' when the interface does not have it."""
    out = run("ip", "-n", namespace, "-o", "addr", "show", "dev", "eth0", check=False).stdout
    return next((line for line in out.splitlines() if f" {VIP}/" in line), "")


@pytest.mark.parametrize("daemon", ["keepalived", "pykeepalived"])
def test_dont_release_vrrp_keeps_the_vip_and_sends_no_priority_0(daemon: str, tmp_path: Path) -> None:
    with Lab(f"pf{secrets.token_hex(3)}", routers=1) as lab:
        router = lab.routers[0]
        config = tmp_path / "keepalived.conf"
        config.write_text(vrrp_config(router, 150))
        command = ["keepalived"] if daemon == "keepalived" else pykeepalived_command()
        process = start_in(lab, router.namespace, [
            *command, "-n", "-l", "-G", "-P", "-V", "-f", str(config),
            "-p", str(tmp_path / "parent.pid"), "-r", str(tmp_path / "vrrp.pid")
        ])  # fmt: skip
        listener = subprocess.Popen(
            ["ip", "netns", "exec", lab.client, sys.executable, "-c", ADVERT_PRIORITIES, "30"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )
        lab.started.append(listener)
        assert listener.stdout is not None and listener.stdout.readline() == "listening\n"
        try:
            assert lab.wait_for_holder(VIP, timeout=15) is router
            process.send_signal(signal.SIGTERM)
            log, _ = process.communicate(timeout=15)
            # Our VIPs carry a lifetime the adverts renew (at advert_int 0.1, 1 s): kept ones must outlive it.
            time.sleep(3)
            kept = vip_line(lab, router.namespace)
            listener.terminate()
            priorities, _ = listener.communicate(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, log
    assert "valid_lft forever" in kept, kept
    seen = [int(word) for word in priorities.split()]
    assert seen and 0 not in seen, seen


def test_net_namespace_runs_the_daemon_there_with_keepalived_s_pid_files(tmp_path: Path) -> None:
    with Lab(f"pf{secrets.token_hex(3)}", routers=2) as lab:
        router, launcher = lab.routers
        config = tmp_path / "keepalived.conf"
        config.write_text(f"net_namespace {router.namespace}\n" + vrrp_config(router, 150))
        directory = Path("/run/keepalived") / router.namespace
        # keepalived is the reference for the names: started in the namespace it is told to use.
        reference = subprocess.Popen(
            ["ip", "netns", "exec", router.namespace, "keepalived", "-n", "-l", "-G", "-P", "-f", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        lab.started.append(reference)
        try:
            wait_for(directory / "vrrp.pid", within=15)
            theirs = sorted(path.name for path in directory.iterdir())
            assert int((directory / "keepalived.pid").read_text()) == reference.pid
        finally:
            reference.terminate()
            reference.wait(15)
        assert not directory.exists()
        # Ours is started in another namespace (never in the machine's) and moves itself to the one the file
        # names, before any VRRP socket exists: the VIP appears in the router's namespace.
        ours = start_in(lab, launcher.namespace, [
            *pykeepalived_command(), "-n", "-l", "-G", "-P",
            "-f", str(config)
        ])  # fmt: skip
        try:
            assert lab.wait_for_holder(VIP, timeout=15) is router
            assert sorted(path.name for path in directory.iterdir()) == theirs == ["keepalived.pid", "vrrp.pid"]
            assert int((directory / "keepalived.pid").read_text()) == ours.pid
            vrrp = int((directory / "vrrp.pid").read_text())
            assert os.stat(f"/proc/{vrrp}/ns/net").st_ino == os.stat(f"/run/netns/{router.namespace}").st_ino
            ours.terminate()
            log, _ = ours.communicate(timeout=15)
        finally:
            if ours.poll() is None:
                ours.kill()
    assert ours.returncode == 0, log
    assert not directory.exists()


def test_without_dont_fork_the_command_ends_once_the_pid_file_names_the_daemon(tmp_path: Path) -> None:
    """An init script starts the daemon and asks its status at once (Ansible's service module does): the
    forking command must not end before the detached daemon has written its pid file."""
    with Lab(f"pf{secrets.token_hex(3)}", routers=1) as lab:
        router = lab.routers[0]
        config = tmp_path / "keepalived.conf"
        config.write_text(vrrp_config(router, 150))
        main, vrrp = tmp_path / "keepalived.pid", tmp_path / "vrrp.pid"
        command = [*pykeepalived_command(), "-l", "-P", "-p", str(main), "-r", str(vrrp), "-f", str(config)]
        started = subprocess.run(["ip", "netns", "exec", router.namespace, *command], env=environment(),
                                 stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)  # fmt: skip
        daemon = int(main.read_text()) if main.exists() else None
        try:
            assert started.returncode == 0, started.stdout + started.stderr
            assert daemon is not None, "the command ended before the daemon wrote its pid file"
            assert "pykeepalived" in Path(f"/proc/{daemon}/cmdline").read_text(), "the pid file names another process"
            assert lab.wait_for_holder(VIP, timeout=15) is router
        finally:
            if daemon is not None:
                os.kill(daemon, signal.SIGTERM)
                deadline = time.monotonic() + 15
                while Path(f"/proc/{daemon}").exists() and time.monotonic() < deadline:
                    time.sleep(0.05)
        assert not main.exists() and not vrrp.exists()


def test_instance_names_the_pid_files_and_dash_s_overrides_net_namespace(tmp_path: Path) -> None:
    with Lab(f"pf{secrets.token_hex(3)}", routers=2) as lab:
        router, launcher = lab.routers
        config = tmp_path / "keepalived.conf"
        # -s wins over the file's net_namespace, as keepalived's.
        config.write_text("net_namespace elsewhere\ninstance blue\n" + vrrp_config(router, 150))
        directory = Path("/run/keepalived") / router.namespace
        ours = start_in(lab, launcher.namespace, [
            *pykeepalived_command(), "-n", "-l", "-G", "-P", "-s",
            router.namespace, "-f", str(config)
        ])  # fmt: skip
        try:
            wait_for(directory / "vrrp_blue.pid", within=15)
            assert sorted(path.name for path in directory.iterdir()) == ["keepalived_blue.pid", "vrrp_blue.pid"]
            ours.terminate()
            log, _ = ours.communicate(timeout=15)
        finally:
            if ours.poll() is None:
                ours.kill()
    assert ours.returncode == 0, log
    assert f"Overriding config net_namespace 'elsewhere' with command line namespace '{router.namespace}'" in log


def test_core_dumps_umask_and_all_children(tmp_path: Path) -> None:
    # A configuration with only a virtual server: --all runs the VRRP process too (with no instance).
    config = tmp_path / "keepalived.conf"
    config.write_text("virtual_server 127.0.0.1 18080 {\n delay_loop 60\n real_server 127.0.0.1 18081 {\n"
                      "  TCP_CHECK {\n   connect_timeout 1\n  }\n }\n}\n")  # fmt: skip
    with Lab(f"pf{secrets.token_hex(3)}", routers=1) as lab:
        router = lab.routers[0]
        pidfiles = {name: tmp_path / f"{name}.pid" for name in ("parent", "vrrp", "checker")}
        daemon = start_in(lab, router.namespace, [
            *pykeepalived_command(), "-n", "-l", "-G", "--all", "-m",
            "-u", "077", "--dataplane", "memory", "-f", str(config), "-p", str(pidfiles["parent"]),
            "-r", str(pidfiles["vrrp"]), "-c", str(pidfiles["checker"])
        ])  # fmt: skip
        try:
            for path in pidfiles.values():
                wait_for(path, within=15)
            for path in pidfiles.values():
                assert path.stat().st_mode & 0o777 == 0o600, path
                limits = Path(f"/proc/{int(path.read_text())}/limits").read_text()
                assert "Max core file size        unlimited            unlimited" in limits, limits
            daemon.terminate()
            log, _ = daemon.communicate(timeout=15)
        finally:
            if daemon.poll() is None:
                daemon.kill()
    assert daemon.returncode == 0, log


@pytest.mark.parametrize("keep", [True, False])
def test_dont_release_ipvs_leaves_the_kernel_s_table(keep: bool, tmp_path: Path) -> None:
    # The nftables data plane is kernel state, as IPVS is: with -I it stays after the checker stops.
    config = tmp_path / "keepalived.conf"
    config.write_text("virtual_server 10.99.2.1 80 {\n delay_loop 60\n lb_kind NAT\n real_server 10.99.0.12 80 {\n"
                      "  TCP_CHECK {\n   connect_timeout 1\n  }\n }\n}\n")  # fmt: skip
    with Lab(f"pf{secrets.token_hex(3)}", routers=1) as lab:
        router = lab.routers[0]
        checker_pidfile = tmp_path / "checker.pid"
        daemon = start_in(lab, router.namespace, [
            *pykeepalived_command(), "-n", "-l", "-G", "-C",
            *(["-I"] if keep else []), "--dataplane", "nftables", "-f", str(config),
            "-p", str(tmp_path / "parent.pid"), "-c", str(checker_pidfile)
        ])  # fmt: skip
        listing = ["ip", "netns", "exec", router.namespace, "nft", "list", "table", "inet", "pykeepalived"]
        try:
            deadline = time.monotonic() + 15
            while run(*listing, check=False).returncode != 0:
                assert time.monotonic() < deadline, "the checker never programmed nftables"
                time.sleep(0.1)
            daemon.terminate()
            log, _ = daemon.communicate(timeout=15)
            after = run(*listing, check=False)
        finally:
            if daemon.poll() is None:
                daemon.kill()
    assert daemon.returncode == 0, log
    assert (after.returncode == 0) == keep, after
    if keep:
        assert "10.99.2.1" in after.stdout


def address_monitoring_log(lab: Lab, command: list[str], options: list[str], config: Path, tmp_path: Path) -> list[str]:
    """The lines with 'Netlink reflector' a daemon run with -a logs while an address comes and goes."""
    router = lab.routers[0]
    process = start_in(lab, router.namespace, [
        *command, "-n", "-l", "-G", "-a", *options, "-f", str(config),
        "-p", str(tmp_path / "parent.pid"), "-r", str(tmp_path / "vrrp.pid"), "-c", str(tmp_path / "checker.pid")
    ])  # fmt: skip
    try:
        assert lab.wait_for_holder(VIP, timeout=15) is router
        run("ip", "-n", router.namespace, "addr", "add", "10.99.5.5/32", "dev", "eth0")
        run("ip", "-n", router.namespace, "addr", "add", "fd00::5/128", "dev", "eth0", "nodad")
        time.sleep(0.5)
        run("ip", "-n", router.namespace, "addr", "del", "10.99.5.5/32", "dev", "eth0")
        run("ip", "-n", router.namespace, "addr", "del", "fd00::5/128", "dev", "eth0")
        time.sleep(0.5)
        process.terminate()
        log, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, log
    # Without the console's date prefix.
    return [line.split(": ", 1)[1] for line in log.splitlines() if "Netlink reflector" in line]


def test_address_monitoring_beside_keepalived(tmp_path: Path) -> None:
    with Lab(f"pf{secrets.token_hex(3)}", routers=1) as lab:
        router = lab.routers[0]
        config = tmp_path / "keepalived.conf"
        config.write_text(vrrp_config(router, 150))
        theirs = address_monitoring_log(lab, ["keepalived"], ["-P"], config, tmp_path)
        # keepalived's checker needs IPVS, which this kernel lacks: ours runs its checker too, on nothing.
        config.write_text(
            vrrp_config(router, 150) + "virtual_server 10.99.2.1 80 {\n delay_loop 60\n real_server 10.99.0.12 80 {\n"
            "  TCP_CHECK {\n   connect_timeout 1\n  }\n }\n}\n"
        )
        ours = address_monitoring_log(lab, pykeepalived_command(), ["--dataplane", "memory"], config, tmp_path)
    expected_vrrp = [
        "Netlink reflector reports IP 127.0.0.1 added to lo",
        "Netlink reflector reports IP 10.99.0.11 added to eth0",
        "Netlink reflector reports IP ::1 added to lo",
        "Netlink reflector reports IP fe80::99:ff:fe00:1 added to eth0",
        # The VIP the VRRP process adds itself is not reported, in keepalived as in ours.
        "Netlink reflector reports IP 10.99.5.5 added to eth0",
        "Netlink reflector reports IP fd00::5 added to eth0",
        "Netlink reflector reports IP 10.99.5.5 removed from eth0",
        "Netlink reflector reports IP fd00::5 removed from eth0",
    ]
    assert theirs == expected_vrrp
    assert [line for line in ours if " to " in line or " from " in line] == expected_vrrp
    checker = [line for line in ours if " to " not in line and " from " not in line]
    # The checker sees the VRRP process's VIP come (and, if it is still running then, go at the stop).
    assert "Netlink reflector reports IP 10.99.1.1 added" in checker
    assert [line for line in checker if "10.99.1.1" not in line] == [
        f"Netlink reflector reports IP {change}"
        for change in ("127.0.0.1 added", "10.99.0.11 added", "::1 added", "fe80::99:ff:fe00:1 added",
                       "10.99.5.5 added", "fd00::5 added", "10.99.5.5 removed", "fd00::5 removed")
    ]  # fmt: skip


@pytest.mark.parametrize("daemon", ["keepalived", "pykeepalived"])
def test_dont_release_vrrp_keeps_the_vmac(daemon: str, tmp_path: Path) -> None:
    # keepalived's -V also skips shutdown_vrrp_instances(): its VMAC interface stays, with the VIP on it.
    with Lab(f"pf{secrets.token_hex(3)}", routers=1) as lab:
        router = lab.routers[0]
        config = tmp_path / "keepalived.conf"
        config.write_text(vrrp_config(router, 150, extra="use_vmac"))
        command = ["keepalived"] if daemon == "keepalived" else pykeepalived_command()
        process = start_in(lab, router.namespace, [
            *command, "-n", "-l", "-G", "-P", "-V", "-f", str(config),
            "-p", str(tmp_path / "parent.pid"), "-r", str(tmp_path / "vrrp.pid")
        ])  # fmt: skip
        try:
            deadline = time.monotonic() + 15
            while router not in lab.holders(VIP, "vrrp.51"):
                assert time.monotonic() < deadline, "the VIP never came up on the VMAC"
                time.sleep(0.05)
            process.terminate()
            log, _ = process.communicate(timeout=15)
            time.sleep(2)
            kept = run("ip", "-n", router.namespace, "-o", "addr", "show", "dev", "vrrp.51", check=False)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, log
    assert kept.returncode == 0, kept.stderr
    assert f" {VIP}/" in kept.stdout and "valid_lft forever" in kept.stdout, kept.stdout
