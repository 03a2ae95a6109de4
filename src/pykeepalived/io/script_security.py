"""keepalived 2.2.7's script security, rule for rule (lib/notify.c: check_script_secure, check_security).

Which user a script runs as, whether it can be found and run, and whether someone other than root can
change what root will run. The messages are keepalived's, word for word, so that log watchers and the
people reading them see what they know.
"""

from __future__ import annotations

import enum
import errno
import grp
import os
import pwd
import re
import shlex
import stat
from collections.abc import Callable
from dataclasses import dataclass, field

from ..config.model import GlobalDefs, Script

DEFAULT_SCRIPT_USER = "keepalived_script"
# keepalived's confstr(_CS_PATH) when PATH is unset.
DEFAULT_PATH = "/bin:/usr/bin"
# `</file`: a readability test keepalived hands to the shell; it is not a script and is not checked.
SYSTEM_TEST = re.compile(r"<[ \t]*/")
NOT_FOUND_ERRORS = {errno.EACCES, errno.ELOOP, errno.ENOENT, errno.ENOTDIR}


class Flag(enum.Flag):
    NONE = 0
    # It got far enough to be a script that will run (what SECURITY VIOLATION counts).
    SCRIPT = enum.auto()
    EXECUTABLE = enum.auto()
    # A non-root user can change it.
    INSECURE = enum.auto()
    # Refused: insecure with script security on, or not a regular file.
    INHIBIT = enum.auto()
    NOT_FOUND = enum.auto()
    SYSTEM = enum.auto()


@dataclass(frozen=True)
class RunAs:
    user: str
    uid: int
    gid: int


# Who runs a script, and its command line.
Runnable = tuple[RunAs, tuple[str, ...]]


@dataclass(frozen=True)
class Verdict:
    flags: Flag
    # The command to run, its program resolved as keepalived resolves it.
    argv: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()

    @property
    def runnable(self) -> bool:
        if Flag.SYSTEM in self.flags:
            return True
        return Flag.EXECUTABLE in self.flags and not self.flags & (Flag.INHIBIT | Flag.NOT_FOUND)


@dataclass
class ScriptUsers:
    """Who scripts run as (keepalived's set_uid_gid and get_default_script_user), with its messages.

    The default user is settled once: `script_user` if given, else keepalived_script if that user
    exists, else root, unless script security is on (then scripts relying on the default are refused).
    """

    global_defs: GlobalDefs
    messages: list[str] = field(default_factory=list)
    _default: RunAs | None = None
    _default_settled: bool = False

    def lookup(self, names: tuple[str, ...]) -> RunAs | None:
        user, group = names[0], names[1] if len(names) > 1 else None
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            self.messages.append(f"Script user '{user}' does not exist")
            return None
        gid = entry.pw_gid
        if group is not None:
            try:
                gid = grp.getgrnam(group).gr_gid
            except KeyError:
                self.messages.append(f"Script group '{group}' does not exist")
                return None
        return RunAs(entry.pw_name, entry.pw_uid, gid)

    def default(self) -> RunAs | None:
        if not self._default_settled:
            self._default_settled = True
            written = self.global_defs.script_user
            if written:
                self._default = self.lookup(written)
                if self._default is None:
                    self.messages.append("Error setting global script uid/gid")
            else:
                try:
                    entry = pwd.getpwnam(DEFAULT_SCRIPT_USER)
                    self._default = RunAs(entry.pw_name, entry.pw_uid, entry.pw_gid)
                except KeyError:
                    if self.global_defs.enable_script_security:
                        self.messages.append(f"Unable to set default user {DEFAULT_SCRIPT_USER} for script")
                    else:
                        root = pwd.getpwuid(0)
                        self._default = RunAs(root.pw_name, 0, root.pw_gid)
        return self._default

    def take_messages(self) -> list[str]:
        taken, self.messages = self.messages, []
        return taken


def is_executable(info: os.stat_result, run_as: RunAs) -> bool:
    """keepalived's is_executable: mode bits only, no supplementary groups."""
    mode = info.st_mode
    if run_as.uid == 0:
        return bool(mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH))
    if run_as.uid == info.st_uid:
        return bool(mode & stat.S_IXUSR)
    if run_as.gid == info.st_gid:
        return bool(mode & stat.S_IXGRP)
    return bool(mode & stat.S_IXOTH)


def _find_in_path(name: str, run_as: RunAs) -> tuple[str | None, str]:
    """The PATH search of keepalived's find_path: the first regular executable file, or why none."""
    refused = False
    for directory in os.environ.get("PATH", DEFAULT_PATH).split(":"):
        # An empty element is the working directory (keepalived 2.2.7 then crashes; we look there).
        candidate = os.path.join(directory or os.getcwd(), name)
        try:
            info = os.stat(candidate)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode) and is_executable(info, run_as):
            return candidate, (
                f"WARNING - script `{name}` resolved by path search to `{candidate}`. Please specify full path."
            )
        refused = True
    if refused:
        return None, f"Permissions failure for script {name} in path - disabling"
    return None, f"Cannot find script {name} in path - disabling"


def _accessible(path: str, run_as: RunAs) -> str | None:
    """Why `run_as` cannot reach `path` (keepalived resolves it under the script's user), or None."""
    if run_as.uid == 0:
        return None
    parent = os.path.dirname(path)
    while True:
        # Searching a directory takes its x bit, judged as for running a file.
        if not is_executable(os.stat(parent), run_as):
            return os.strerror(errno.EACCES)
        if parent == "/":
            return None
        parent = os.path.dirname(parent)


def check_security(path: str, security: bool) -> tuple[Flag, str | None]:
    """Every prefix of `path`, unfollowed: owned by root, and not writable by others (sticky directories
    excepted); every component but the last a directory, the last a file or a link."""
    parts = [p for p in path.split("/") if p]
    prefixes = ["/"] + ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]
    for index, prefix in enumerate(prefixes):
        try:
            info = os.lstat(prefix)
        except OSError as error:
            if error.errno in NOT_FOUND_ERRORS:
                return Flag.NOT_FOUND, f"check_script_secure could not find script '{path}' - disabling"
            return Flag.NOT_FOUND, (
                f"check_script_secure('{path}') returned errno {error.errno} - {error.strerror} - disabling"
            )
        mode = info.st_mode
        last = index == len(prefixes) - 1
        if (not last and not stat.S_ISDIR(mode)) or (last and not (stat.S_ISREG(mode) or stat.S_ISLNK(mode))):
            return Flag.INHIBIT, f"Wrong file type found in script path '{path}'."
        writable_checked = stat.S_ISREG(mode) or (stat.S_ISDIR(mode) and not mode & stat.S_ISVTX)
        others_can_write = bool((info.st_gid != 0 and mode & stat.S_IWGRP) or mode & stat.S_IWOTH)
        if info.st_uid != 0 or (writable_checked and others_can_write):
            suffix = " - disabling" if security else ""
            flags = Flag.INSECURE | (Flag.INHIBIT if security else Flag.NONE)
            return flags, f"Unsafe permissions found for script '{path}'{suffix}."
    return Flag.NONE, None


def check_script(command: str, run_as: RunAs, security: bool) -> Verdict:
    """keepalived's check_script_secure: can `command` run as `run_as`, and may it?"""
    if SYSTEM_TEST.match(command.lstrip()):
        return Verdict(Flag.SYSTEM, ("/bin/sh", "-c", command))
    try:
        words = shlex.split(command)
    except ValueError as error:
        return Verdict(Flag.NOT_FOUND, (), (f"Cannot parse script '{command}' ({error}) - disabling",))
    if not words:
        return Verdict(Flag.NOT_FOUND, (), (f"Cannot find script {command} in path - disabling",))
    messages: list[str] = []
    program = words[0]
    if "/" not in program:
        found, message = _find_in_path(program, run_as)
        messages.append(message)
        if found is None:
            return Verdict(Flag.NOT_FOUND, (), tuple(messages))
        program = found
    try:
        real = os.path.realpath(program, strict=True)
        problem = _accessible(real, run_as)
    except OSError as error:
        problem = error.strerror
    if problem is not None:
        messages.append(f"Script {program} cannot be accessed - {problem}")
        return Verdict(Flag.NOT_FOUND, (), tuple(messages))
    # keepalived keeps a same-directory alias (or hard link) by its own name, and checks both names;
    # anything else is checked and run by its real path.
    checked = [real]
    if real != program and os.path.basename(real) != os.path.basename(program):
        alias = os.path.join(os.path.dirname(real), os.path.basename(program))
        try:
            if os.path.samestat(os.stat(alias), os.stat(real)):
                checked = [alias, real]
        except OSError:
            pass
    argv = (checked[0], *words[1:])
    try:
        info = os.stat(checked[0])
    except OSError:
        messages.append(f"Unable to access script `{checked[0]}` - disabling")
        return Verdict(Flag.NOT_FOUND, argv, tuple(messages))
    flags = Flag.SCRIPT
    if not is_executable(info, run_as):
        messages.append(
            f"WARNING - script '{checked[0]}' is not executable for uid:gid {run_as.uid}:{run_as.gid} - disabling."
        )
        return Verdict(flags, argv, tuple(messages))
    flags |= Flag.EXECUTABLE
    mode = info.st_mode
    runs_with_root_rights = (
        run_as.uid == 0
        or run_as.gid == 0
        or (info.st_uid == 0 and mode & stat.S_IXUSR and mode & stat.S_ISUID)
        or (info.st_gid == 0 and mode & stat.S_IXGRP and mode & stat.S_ISGID)
    )
    if runs_with_root_rights:
        for path in checked:
            path_flags, problem = check_security(path, security)
            flags |= path_flags
            if problem is not None:
                messages.append(problem)
    return Verdict(flags, argv, tuple(messages))


def security_violation(verdicts: list[Verdict], security: bool, what: str = "scripts") -> str | None:
    """keepalived's warning when scripts will run without enable_script_security."""
    if security or not any(Flag.SCRIPT in v.flags for v in verdicts):
        return None
    insecure = " There are insecure scripts." if any(Flag.INSECURE in v.flags for v in verdicts) else ""
    return f"SECURITY VIOLATION - {what} are being executed but script_security not enabled.{insecure}"


class ScriptVetting:
    """Vets each script of a process once, before it first runs, as keepalived does at start, saying
    keepalived's lines through `warn` (a logger's, or -t's collector: -t does without logging); then says
    whether scripts run without script security (SECURITY VIOLATION)."""

    def __init__(self, global_defs: GlobalDefs, warn: Callable[[str], object]) -> None:
        self.users = ScriptUsers(global_defs)
        self.security = global_defs.enable_script_security
        self.warn = warn
        self.verdicts: list[Verdict] = []
        self.notify_scripts: dict[Script, Runnable | None] = {}

    def vet(
        self, command: str, user: tuple[str, ...] | None, no_user: Callable[[bool], str]
    ) -> tuple[RunAs, Verdict] | None:
        """Who `command` runs as and whether it may; None when no user can be had (`no_user` says so,
        told whether the user was the script's own)."""
        run_as = self.users.lookup(user) if user else self.users.default()
        for message in self.users.take_messages():
            self.warn(message)
        if run_as is None:
            self.warn(no_user(bool(user)))
            return None
        verdict = check_script(command, run_as, self.security)
        for message in verdict.messages:
            self.warn(message)
        self.verdicts.append(verdict)
        return run_as, verdict

    def vet_removable(
        self, command: str, user: tuple[str, ...] | None, no_user: Callable[[bool], str], what: str
    ) -> Runnable | None:
        """A track script or a MISC_CHECK: who runs it and its command line, or None when keepalived removes
        `what` (naming it in 'Disabling ... due to insecure' or '... since not found/accessible')."""
        vetted = self.vet(command, user, no_user)
        if vetted is None:
            return None
        run_as, verdict = vetted
        if Flag.INHIBIT in verdict.flags:
            self.warn(f"Disabling {what} due to insecure")
        elif Flag.NOT_FOUND in verdict.flags:
            self.warn(f"Disabling {what} since not found/accessible")
        return (run_as, verdict.argv) if verdict.runnable else None

    def vet_notify(self, script: Script, kind: str = "notify") -> Runnable | None:
        """A notify or FIFO script, vetted once (keepalived drops one it may not run, silently but for the
        reasons logged); who runs it and its command line."""
        if script not in self.notify_scripts:
            user = tuple(w for w in (script.user, script.group) if w) or None
            vetted = self.vet(
                script.command,
                user,
                lambda own: (
                    f"{'Invalid user/group' if own else 'Failed to set default user'} for {kind} script "
                    f"{script.command} - ignoring"
                ),
            )
            self.notify_scripts[script] = (vetted[0], vetted[1].argv) if vetted and vetted[1].runnable else None
        return self.notify_scripts[script]

    def report_violation(self, what: str = "scripts") -> None:
        message = security_violation(self.verdicts, self.security, what)
        if message is not None:
            self.warn(message)
