"""The command lines: keepalived's flags and exit codes, and the admin command's output."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from pykeepalived.cli import ctl, daemon, daemon_run
from pykeepalived.cli.common import load_file
from pykeepalived.io.files import local_interfaces

# An interface this machine has that keepalived accepts for VRRP (not the loopback).
INTERFACE = sorted(local_interfaces() - {"lo"})[0]
GOOD = (
    f"vrrp_instance VI_1 {{\n interface {INTERFACE}\n virtual_router_id 5\n"
    " virtual_ipaddress {\n  10.99.1.1\n }\n}\n"
)


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "keepalived.conf"
    path.write_text(text)
    return str(path)


def test_config_test_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert daemon.main(["-t", "-f", write(tmp_path, GOOD)]) == 0
    assert capsys.readouterr().err == ""


def test_config_test_warning_exits_5(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "bogus 1\n" + GOOD)
    assert daemon.main(["--config-test", "--use-file", path]) == 5
    assert capsys.readouterr().err == f"{path}:1: warning: Unknown keyword 'bogus'\n"


def test_what_keepalived_will_not_run_exits_5_as_keepalived_and_the_daemon_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, GOOD.replace("virtual_router_id 5", "virtual_router_id 256"))
    assert daemon.main(["-t", "-f", path]) == 5
    err = capsys.readouterr().err
    assert "virtual_router_id '256' is invalid: number '256' outside range [1, 255] - ignoring" in err
    assert "error: (VI_1) the virtual router id must be set" in err
    assert daemon.main(["-n", "-l", "-f", path]) == 4
    assert "not starting" in capsys.readouterr().err


def test_keepalived_parser_giving_up_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, GOOD.replace(" virtual_router_id 5\n", " virtual_router_id 5\n preempt_delay\n"))
    assert daemon.main(["-t", "-f", path]) == 2
    assert (
        f"{path}:4: error: *** Configuration line starting `preempt_delay` is missing a parameter after keyword "
        "`preempt_delay` at word position 2"
    ) in capsys.readouterr().err


def test_a_correction_runs_and_strict_refuses_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(
        tmp_path,
        GOOD.replace(" virtual_router_id 5\n", " virtual_router_id 5\n state MASTER\n priority 100\n nopreempt\n"),
    )
    message = "(VI_1) Warning - nopreempt will not work with initial state MASTER - clearing; using preempt"
    assert daemon.main(["-t", "-f", path]) == 5
    assert f"{path}:6: warning: {message}" in capsys.readouterr().err
    assert daemon.main(["-t", "--strict", "-f", path]) == 4
    assert f"{path}:6: error: {message}" in capsys.readouterr().err
    assert ctl.main(["config-test", "--strict", path]) == 4
    assert "will not run" in capsys.readouterr().err
    assert daemon.main(["-n", "-l", "--strict", "-f", path]) == 4
    assert "not starting" in capsys.readouterr().err


def test_dump_config_holds_the_corrected_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = GOOD.replace(
        " virtual_router_id 5\n", " virtual_router_id 5\n state MASTER\n priority 90\n nopreempt\n advert_int 0.5\n"
    )
    assert ctl.main(["dump-config", write(tmp_path, text), "--json"]) == 0
    instance = json.loads(capsys.readouterr().out)["vrrp_instance"][0]
    assert instance["resolved"]["preempt"] is True and instance["nopreempt"] is False
    assert instance["advert_int"] == 1.0


def test_scripts_without_script_security_exit_6(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "check.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    text = f"vrrp_script chk {{\n script {script}\n}}\n" + GOOD.replace(
        " virtual_router_id 5\n", " virtual_router_id 5\n track_script {\n  chk\n }\n"
    )
    path = write(tmp_path, text)
    assert daemon.main(["-t", "-f", path]) == 6
    assert "SECURITY VIOLATION - scripts are being executed but script_security not enabled." in capsys.readouterr().err
    secured = write(tmp_path, "global_defs {\n enable_script_security\n script_user root\n}\n" + text)
    assert daemon.main(["-t", "-f", secured]) == 0
    assert capsys.readouterr().err == ""


def test_config_test_to_a_log_file(tmp_path: Path) -> None:
    log = tmp_path / "test.log"
    assert daemon.main([f"--config-test={log}", "-f", write(tmp_path, "bogus 1\n" + GOOD)]) == 5
    assert "Unknown keyword 'bogus'" in log.read_text()


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert daemon.main(["-t", "-f", str(tmp_path / "none.conf")]) == 4
    assert "Unable to find configuration file" in capsys.readouterr().err


def test_config_id_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "@a bogus 1\n" + GOOD)
    assert daemon.main(["-t", "-i", "b", "-f", path]) == 0
    assert daemon.main(["-t", "--config-id", "a", "-f", path]) == 5


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert daemon.main(["-v"]) == 0
    assert "keepalived 2.2.7 compatible" in capsys.readouterr().out


def test_dump_config_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert ctl.main(["dump-config", write(tmp_path, GOOD), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    instance = data["vrrp_instance"][0]
    assert instance["name"] == "VI_1"
    assert instance["virtual_ipaddress"][0]["address"] == "10.99.1.1/32"
    assert instance["resolved"] == {"state": "BACKUP", "priority": 100, "version": 2, "family": "inet", "preempt": True}


def test_ctl_config_test(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = write(tmp_path, GOOD.replace(INTERFACE, "nosuchif0"))
    # keepalived: the interface's own message (5) outranks "Non-existent interface specified" (4).
    assert ctl.main(["config-test", missing]) == 5
    assert ctl.main(["config-test", missing, "--no-interface-check"]) == 0


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["-x"], "SNMP is not provided"),
        (["-A", "/run/agentx"], "SNMP is not provided"),
        (["-M"], "-M/--core-dump-pattern: not provided"),
        (["-T"], "genhash is not provided"),
        (["-g"], "-g requires configure option --enable-log-file"),
    ],
)
def test_flags_for_what_is_not_provided_are_refused(
    flags: list[str], named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # As keepalived built without the feature: a message and exit status 1, before the file is even read.
    assert daemon.main([*flags, "-f", write(tmp_path, GOOD)]) == 1
    assert named in capsys.readouterr().err


def test_log_facility_as_keepalived(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for good in ("0", "7", "local3", "user", "daemon"):
        assert daemon.main(["-S", good, "-t", "-f", write(tmp_path, GOOD)]) == 0
    assert capsys.readouterr().err == ""
    assert daemon.main(["-S", "8", "-t", "-f", write(tmp_path, GOOD)]) == 0
    assert capsys.readouterr().err == "Invalid log facility '8'\n"


@pytest.mark.parametrize(("text", "value"), [("0022", 0o22), ("077", 0o77), ("0x12", 0x12), ("18", 18), ("0", 0)])
def test_umask_in_c_notation(text: str, value: int) -> None:
    assert daemon.umask_value(text) == value


@pytest.mark.parametrize("text", ["0999", "-1", "01000", "abc"])
def test_umask_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=f"Invalid --umask option {text}"):
        daemon.umask_value(text)


def test_snmp_and_dbus_keywords_are_named_at_their_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "global_defs {\n enable_snmp_vrrp\n enable_dbus\n}\n" + GOOD)
    assert daemon.main(["-t", "-f", path]) == 5
    assert capsys.readouterr().err.splitlines() == [
        f"{path}:2: warning: enable_snmp_vrrp: SNMP is not provided by pykeepalived - no effect (Prometheus "
        "metrics are provided instead: --metrics)",
        f"{path}:3: warning: enable_dbus: DBus is not provided by pykeepalived - no effect",
    ]


def test_all_config_requires_every_include(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, f"include {tmp_path}/missing.conf\n" + GOOD)
    assert daemon.main(["-t", "-f", path]) == 0
    assert daemon.main(["-t", "-e", "-f", path]) == 4
    assert "missing.conf" in capsys.readouterr().err


def test_net_namespace_ipvs_is_refused_with_virtual_servers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    server = (
        "virtual_server 10.99.2.1 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n real_server 10.99.0.12 80 {\n }\n}\n"
    )
    path = write(tmp_path, "net_namespace_ipvs lb\n" + server)
    assert daemon.main(["-t", "-f", path]) == 4
    assert f"{path}:1: error: net_namespace_ipvs: not provided by pykeepalived" in capsys.readouterr().err
    assert daemon.main(["-t", "-f", write(tmp_path, "net_namespace_ipvs lb\n" + GOOD)]) == 0


@pytest.mark.parametrize(
    ("head", "options", "expected"),
    [
        ("", [], ("/run/keepalived.pid", "/run/vrrp.pid", "/run/checkers.pid")),
        ("use_pid_dir\n", [], ("/run/keepalived/keepalived.pid", "/run/keepalived/vrrp.pid",
                               "/run/keepalived/checkers.pid")),
        ("instance blue\n", [], ("/run/keepalived/keepalived_blue.pid", "/run/keepalived/vrrp_blue.pid",
                                 "/run/keepalived/checkers_blue.pid")),
        ("instance blue\n", ["-r", "/tmp/v.pid"], ("/run/keepalived/keepalived_blue.pid", "/tmp/v.pid",
                                                   "/run/keepalived/checkers_blue.pid")),
        ("net_namespace red\n", [], ("/run/keepalived/red/keepalived.pid", "/run/keepalived/red/vrrp.pid",
                                     "/run/keepalived/red/checkers.pid")),
        ("net_namespace red\ninstance blue\n", ["-p", "/tmp/p.pid"], ("/tmp/p.pid", "/run/keepalived/red/vrrp_blue.pid",
                                                                      "/run/keepalived/red/checkers_blue.pid")),
    ],
)  # fmt: skip
def test_pid_files_named_as_keepalived_names_them(
    head: str, options: list[str], expected: tuple[str, str, str], tmp_path: Path
) -> None:
    result = load_file(write(tmp_path, head + GOOD), None, check_interfaces=False)
    assert result.config is not None
    args = daemon.build_parser().parse_args(options)
    # What load_in_namespace leaves: the namespace the daemon runs in.
    args.namespace = result.config.net_namespace
    assert daemon_run.pidfile_names(args, result.config) == expected


def test_realserver_refuses_a_bad_vip_before_touching_anything(capsys: pytest.CaptureFixture[str]) -> None:
    assert ctl.main(["realserver", "setup", "--vip", "10.99.1.1", "--vip", "10.99.1.300"]) == 1
    assert capsys.readouterr().err == "realserver setup: --vip 10.99.1.300: not an IPv4 or IPv6 address\n"
