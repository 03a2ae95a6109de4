"""Script security against keepalived 2.2.7's rules (lib/notify.c), on the real file system, as root.

Each case is a row of keepalived's behaviour, found in its source and confirmed with `keepalived -t`:
which scripts run, which are refused, and the words it logs. `nobody`/`nogroup` stand for any user
and group other than root.
"""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pykeepalived.config.model import GlobalDefs
from pykeepalived.io import script_security
from pykeepalived.io.script_security import Flag, RunAs, ScriptUsers, check_script, security_violation

ROOT = RunAs("root", 0, 0)
NOBODY = RunAs("nobody", pwd.getpwnam("nobody").pw_uid, pwd.getpwnam("nobody").pw_gid)


@pytest.fixture
def base() -> Iterator[Path]:
    """A directory only root can change and anyone can enter, in /tmp (root's, sticky)."""
    assert os.geteuid() == 0, "script security tests run as root"
    directory = Path(tempfile.mkdtemp(prefix="pk-script-security-"))
    try:
        os.chmod(directory, 0o755)
        yield directory
    finally:
        shutil.rmtree(directory)


def script(directory: Path, name: str = "check.sh", mode: int = 0o755) -> Path:
    path = directory / name
    path.write_text("#!/bin/sh\nexit 0\n")
    os.chmod(path, mode)
    return path


def subdirectory(parent: Path, name: str, mode: int, owner: str = "root", group: str = "root") -> Path:
    directory = parent / name
    directory.mkdir()
    os.chown(directory, pwd.getpwnam(owner).pw_uid, 0 if group == "root" else 65534)
    os.chmod(directory, mode)
    return directory


def test_a_root_script_only_root_can_change_runs(base: Path) -> None:
    path = script(base)
    for security in (True, False):
        verdict = check_script(f"{path} arg", ROOT, security)
        assert verdict.runnable and verdict.messages == ()
        assert verdict.argv == (str(path), "arg")
        assert Flag.INSECURE not in verdict.flags


@pytest.mark.parametrize("mode", [0o757, 0o1777, 0o777])
def test_a_world_writable_file_is_unsafe_even_with_the_sticky_bit(base: Path, mode: int) -> None:
    # The sticky bit excuses directories such as /tmp, never a file (issue 10's bypass).
    path = script(base, mode=mode)
    refused = check_script(str(path), ROOT, security=True)
    assert not refused.runnable
    assert refused.messages == (f"Unsafe permissions found for script '{path}' - disabling.",)
    assert {Flag.INSECURE, Flag.INHIBIT} <= set(refused.flags)
    # Without script security keepalived says so, and runs it.
    allowed = check_script(str(path), ROOT, security=False)
    assert allowed.runnable
    assert allowed.messages == (f"Unsafe permissions found for script '{path}'.",)


def test_group_writable_matters_only_for_a_group_other_than_root(base: Path) -> None:
    root_group = script(base, "root-group.sh", 0o775)
    assert check_script(str(root_group), ROOT, True).runnable
    other_group = script(base, "other-group.sh", 0o775)
    os.chown(other_group, 0, 65534)
    assert not check_script(str(other_group), ROOT, True).runnable


def test_a_file_owned_by_another_user_is_unsafe(base: Path) -> None:
    path = script(base)
    os.chown(path, NOBODY.uid, 0)
    assert check_script(str(path), ROOT, True).messages == (
        f"Unsafe permissions found for script '{path}' - disabling.",
    )


@pytest.mark.parametrize(
    ("mode", "owner", "group", "safe"),
    [
        (0o777, "root", "root", False),
        (0o775, "root", "nogroup", False),
        (0o2775, "root", "nogroup", False),  # setgid excuses nothing
        (0o1777, "nobody", "root", False),  # the sticky bit does not excuse another owner
        (0o1777, "root", "root", True),  # /tmp
        (0o1775, "root", "nogroup", True),
        (0o775, "root", "root", True),
    ],
)
def test_each_directory_above_the_script(base: Path, mode: int, owner: str, group: str, safe: bool) -> None:
    directory = subdirectory(base, "scripts", mode, owner, group)
    path = script(directory)
    verdict = check_script(str(path), ROOT, True)
    assert verdict.runnable is safe
    if not safe:
        assert verdict.messages == (f"Unsafe permissions found for script '{path}' - disabling.",)


def test_a_safe_directory_below_an_unsafe_one_is_unsafe(base: Path) -> None:
    open_directory = subdirectory(base, "open", 0o777)
    path = script(subdirectory(open_directory, "closed", 0o755))
    assert not check_script(str(path), ROOT, True).runnable


def test_symlinks_are_checked_where_they_lead(base: Path) -> None:
    open_directory = subdirectory(base, "open", 0o777)
    target = script(base, "target.sh")
    # A link in a directory anyone can change, to a safe script of another name: only the target counts.
    (open_directory / "link.sh").symlink_to(target)
    verdict = check_script(str(open_directory / "link.sh"), ROOT, True)
    assert verdict.runnable and verdict.argv == (str(target),)
    # A safe link to a script in an unsafe directory is unsafe.
    unsafe_target = script(open_directory, "unsafe-target.sh")
    (base / "safe-link.sh").symlink_to(unsafe_target)
    assert not check_script(str(base / "safe-link.sh"), ROOT, True).runnable


def test_a_same_directory_alias_is_checked_under_both_names(base: Path) -> None:
    target = script(base, "target.sh")
    alias = base / "alias.sh"
    alias.symlink_to(target.name)
    assert check_script(str(alias), ROOT, True).argv == (str(alias),)
    os.lchown(alias, NOBODY.uid, 0)
    assert check_script(str(alias), ROOT, True).messages == (
        f"Unsafe permissions found for script '{alias}' - disabling.",
    )


def test_not_a_file_is_refused_even_without_script_security(base: Path) -> None:
    directory = subdirectory(base, "not-a-script", 0o755)
    verdict = check_script(str(directory), ROOT, security=False)
    assert not verdict.runnable
    assert verdict.messages == (f"Wrong file type found in script path '{directory}'.",)


def test_missing_and_not_executable(base: Path) -> None:
    missing = check_script(str(base / "missing.sh"), ROOT, True)
    assert not missing.runnable
    assert missing.messages == (f"Script {base / 'missing.sh'} cannot be accessed - No such file or directory",)
    assert Flag.SCRIPT not in missing.flags
    path = script(base, mode=0o644)
    verdict = check_script(str(path), ROOT, True)
    assert not verdict.runnable
    assert verdict.messages == (f"WARNING - script '{path}' is not executable for uid:gid 0:0 - disabling.",)
    assert Flag.SCRIPT in verdict.flags  # it still counts for SECURITY VIOLATION


def test_a_script_run_by_another_user_is_not_path_checked_unless_it_gains_root(base: Path) -> None:
    open_directory = subdirectory(base, "open", 0o777)
    path = script(open_directory, mode=0o777)
    assert check_script(str(path), NOBODY, True).runnable
    # Setuid root: it runs with root's rights, so the path is checked.
    setuid = script(open_directory, "setuid.sh", 0o4757)
    assert not check_script(str(setuid), NOBODY, True).runnable
    # The user must be able to reach it.
    closed = subdirectory(base, "closed", 0o700)
    hidden = script(closed)
    assert check_script(str(hidden), NOBODY, True).messages == (
        f"Script {hidden} cannot be accessed - Permission denied",
    )
    # ... and to run it: keepalived looks at the mode bits for that user.
    own = script(base, "owners-only.sh", 0o744)
    assert check_script(str(own), NOBODY, True).messages == (
        f"WARNING - script '{own}' is not executable for uid:gid {NOBODY.uid}:{NOBODY.gid} - disabling.",
    )


def test_a_name_without_slash_is_searched_in_path(base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = script(base, "found-in-path")
    monkeypatch.setenv("PATH", f"/nonexistent:{base}")
    verdict = check_script("found-in-path --flag", ROOT, True)
    assert verdict.runnable and verdict.argv == (str(path), "--flag")
    assert verdict.messages == (
        f"WARNING - script `found-in-path` resolved by path search to `{path}`. Please specify full path.",
    )
    assert check_script("not-anywhere", ROOT, True).messages == ("Cannot find script not-anywhere in path - disabling",)
    script(base, "not-executable", 0o644)
    assert check_script("not-executable", ROOT, True).messages == (
        "Permissions failure for script not-executable in path - disabling",
    )


def test_a_file_readability_test_is_not_a_script() -> None:
    verdict = check_script("</etc/hostname", ROOT, True)
    assert verdict.flags == Flag.SYSTEM and verdict.runnable


def test_the_default_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(script_security, "DEFAULT_SCRIPT_USER", "no-such-user-here")
    # No keepalived_script user: root without script security; refused with it.
    assert ScriptUsers(GlobalDefs()).default() == RunAs("root", 0, 0)
    secure = ScriptUsers(GlobalDefs(enable_script_security=True))
    assert secure.default() is None
    assert secure.take_messages() == ["Unable to set default user no-such-user-here for script"]
    monkeypatch.setattr(script_security, "DEFAULT_SCRIPT_USER", "nobody")
    assert ScriptUsers(GlobalDefs(enable_script_security=True)).default() == NOBODY
    # script_user, with a group; an unknown one refuses every script relying on it.
    assert ScriptUsers(GlobalDefs(script_user=("nobody", "root"))).default() == RunAs("nobody", NOBODY.uid, 0)
    unknown = ScriptUsers(GlobalDefs(script_user=("no-such-user-here",)))
    assert unknown.default() is None
    assert unknown.take_messages() == [
        "Script user 'no-such-user-here' does not exist",
        "Error setting global script uid/gid",
    ]


def test_security_violation_when_scripts_run_without_script_security(base: Path) -> None:
    safe = check_script(str(script(base)), ROOT, False)
    unsafe = check_script(str(script(base, "open.sh", 0o757)), ROOT, False)
    assert security_violation([safe], security=False) == (
        "SECURITY VIOLATION - scripts are being executed but script_security not enabled."
    )
    assert security_violation([safe, unsafe], security=False, what="check scripts") == (
        "SECURITY VIOLATION - check scripts are being executed but script_security not enabled. "
        "There are insecure scripts."
    )
    assert security_violation([safe], security=True) is None
