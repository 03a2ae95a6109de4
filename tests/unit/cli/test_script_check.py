"""`-t`'s script checks (keepalived's, through io/script_security.py): message, line, what is dropped from the
model, exit status, and the error under --strict."""

from __future__ import annotations

from pathlib import Path

from pykeepalived.cli.common import checked_file, config_test_exit_code
from pykeepalived.io.files import local_interfaces

INTERFACE = sorted(local_interfaces() - {"lo"})[0]


def conf(tmp_path: Path, script: Path, global_defs: str = "") -> str:
    text = (
        f"global_defs {{\n{global_defs}}}\n"
        f"vrrp_script chk {{\n script {script}\n}}\n"
        f"vrrp_instance VI_1 {{\n interface {INTERFACE}\n virtual_router_id 5\n"
        " track_script {\n  chk\n }\n virtual_ipaddress {\n  10.99.1.1\n }\n}\n"
    )
    path = tmp_path / "keepalived.conf"
    path.write_text(text)
    return str(path)


def executable(path: Path, mode: int = 0o755) -> Path:
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(mode)
    return path


def said(path: str, strict: bool = False) -> tuple[list[str], int, tuple[str, ...]]:
    result = checked_file(path, None, strict=strict)
    assert result.config is not None
    tracked = tuple(t.name for t in result.config.vrrp_instance[0].track_script)
    return [str(d) for d in result.diagnostics], config_test_exit_code(result, strict), tracked


def test_a_missing_script_is_disabled(tmp_path: Path) -> None:
    path = conf(tmp_path, tmp_path / "missing.sh", " enable_script_security\n script_user root\n")
    messages, code, tracked = said(path)
    assert f"{path}:5: warning: Disabling track script chk since not found/accessible" in messages
    assert (code, tracked) == (5, ())
    messages, code, _ = said(path, strict=True)
    assert f"{path}:5: error: Disabling track script chk since not found/accessible" in messages and code == 4


def test_a_script_others_can_change_is_disabled_under_script_security(tmp_path: Path) -> None:
    script = executable(tmp_path / "check.sh", 0o777)
    path = conf(tmp_path, script, " enable_script_security\n script_user root\n")
    messages, code, tracked = said(path)
    assert f"{path}:5: warning: Disabling track script chk due to insecure" in messages
    assert any(f"Unsafe permissions found for script '{script}' - disabling." in m for m in messages)
    assert (code, tracked) == (5, ())


def test_without_script_security_an_unsafe_script_runs_and_exits_6(tmp_path: Path) -> None:
    path = conf(tmp_path, executable(tmp_path / "check.sh", 0o777))
    messages, code, tracked = said(path)
    assert (
        "warning: SECURITY VIOLATION - scripts are being executed but script_security not enabled. "
        "There are insecure scripts."
    ) in messages
    assert (code, tracked) == (6, ("chk",))


def test_a_script_user_that_does_not_exist_removes_the_scripts(tmp_path: Path) -> None:
    path = conf(tmp_path, executable(tmp_path / "check.sh"), " script_user no-such-user-13\n")
    messages, code, tracked = said(path)
    assert f"{path}:2: warning: Error setting global script uid/gid" in messages
    assert f"{path}:6: warning: Unable to set default user for vrrp script chk - removing" in messages
    assert f"{path}:11: warning: (VI_1) track script chk not found, ignoring..." in messages
    assert (code, tracked) == (5, ())
