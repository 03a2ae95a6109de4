"""`-t`'s script checks: keepalived's script security, as the daemon applies it (io/script_security.py), run
on the loaded configuration so that `-t` reports what keepalived's `-t` reports and the model drops what
keepalived drops.

keepalived resolves each vrrp_script's user when the block closes (a script without a usable user is
removed, and its instances say the track script is not found), then vets every script when it completes
its configuration: one that cannot be found or run is disabled, one a non-root user can change is disabled
under enable_script_security, and scripts that run without script security make `-t` exit 6.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from ..config.model import Config, Script, SyncGroup, VrrpInstance
from ..core.diagnostics import Diagnostic, Location, Severity, Status
from ..io.script_security import Flag, ScriptVetting, Verdict, security_violation

# What keepalived reports as configuration errors (counted in -t's exit status); the rest of the vetting's
# messages it only logs.
REPORTED_PREFIXES = ("Disabling ", "Unable to set default user for ", "Error setting global script uid/gid")
# A block that tracks scripts and has notify scripts.
Holder = TypeVar("Holder", VrrpInstance, SyncGroup)
NOTIFY_FIELDS = ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify")


def no_user_message(name: str) -> Callable[[bool], str]:
    """keepalived's words for a vrrp_script it removes for want of a user (its own, or the default)."""

    def message(own: bool) -> str:
        if own:
            return f"Unable to set uid/gid for script {name}"
        return f"Unable to set default user for vrrp script {name} - removing"

    return message


@dataclass
class ScriptCheck:
    config: Config
    vrrp: bool = True
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._messages: list[str] = []
        self.vetting = ScriptVetting(self.config.global_defs, self._messages.append)
        self.security = self.config.global_defs.enable_script_security
        global_defs = self.config.global_defs
        self._user_line = global_defs.lines.get("script_user", global_defs.where)

    def _take(self, where: Location | None) -> None:
        for message in self._messages:
            if message.startswith("Error setting global script uid/gid"):
                self.diagnostics.append(Diagnostic(Severity.WARNING, message, self._user_line))
            elif message.startswith(REPORTED_PREFIXES):
                self.diagnostics.append(Diagnostic(Severity.WARNING, message, where))
            else:
                self.diagnostics.append(Diagnostic(Severity.WARNING, message, where, Status.OK))
        self._messages.clear()

    def run(self) -> Config:
        config = self.config
        if not self.vrrp:
            if config.virtual_server:
                self._violation(self._checker_verdicts(config), "check scripts")
            return config
        removed_by_user: set[str] = set()
        disabled: set[str] = set()
        vrrp_verdicts: list[Verdict] = []
        for script in config.vrrp_script:
            assert script.script is not None  # validate() removed the scripts without one
            name = script.name
            vetted = self.vetting.vet(script.script, script.user, no_user_message(name))
            self._take(script.end or script.where)
            if vetted is None:
                removed_by_user.add(name)
                continue
            verdict = vetted[1]
            vrrp_verdicts.append(verdict)
            if Flag.INHIBIT in verdict.flags:
                self._messages.append(f"Disabling track script {name} due to insecure")
            elif Flag.NOT_FOUND in verdict.flags:
                self._messages.append(f"Disabling track script {name} since not found/accessible")
            self._take(script.where)
            if not verdict.runnable:
                disabled.add(name)
        config = replace(
            config,
            vrrp_script=tuple(s for s in config.vrrp_script if s.name not in removed_by_user | disabled),
            vrrp_instance=tuple(self._tracking(i, removed_by_user, disabled) for i in config.vrrp_instance),
            vrrp_sync_group=tuple(self._tracking(g, removed_by_user, disabled) for g in config.vrrp_sync_group),
        )
        config = replace(
            config,
            vrrp_instance=tuple(self._notified(i, vrrp_verdicts) for i in config.vrrp_instance),
            vrrp_sync_group=tuple(self._notified(g, vrrp_verdicts) for g in config.vrrp_sync_group),
        )
        self._violation(vrrp_verdicts, "scripts")
        if config.virtual_server:
            self._violation(self._checker_verdicts(config), "check scripts")
        return config

    def _tracking(self, holder: Holder, removed_by_user: set[str], disabled: set[str]) -> Holder:
        kept = []
        for entry in holder.track_script:
            if entry.name in removed_by_user:
                self.diagnostics.append(
                    Diagnostic(
                        Severity.WARNING,
                        f"({holder.name}) track script {entry.name} not found, ignoring...",
                        entry.where,
                    )
                )
            elif entry.name not in disabled:
                kept.append(entry)
        return replace(holder, track_script=tuple(kept))

    def _notified(self, holder: Holder, verdicts: list[Verdict]) -> Holder:
        """keepalived drops a notify script it may not run (the reasons are logged)."""
        dropped: dict[str, Any] = {}
        fields = NOTIFY_FIELDS + (("notify_master_rx_lower_pri",) if isinstance(holder, VrrpInstance) else ())
        for name in fields:
            script = getattr(holder, name)
            if script is not None and not self._notify_runs(script, verdicts, holder.where):
                dropped[name] = None
        return replace(holder, **dropped)

    def _notify_runs(self, script: Script, verdicts: list[Verdict], where: Location | None) -> bool:
        known = len(self.vetting.verdicts)
        runnable = self.vetting.vet_notify(script) is not None
        verdicts.extend(self.vetting.verdicts[known:])
        self._take(where)
        return runnable

    def _checker_verdicts(self, config: Config) -> list[Verdict]:
        start = len(self.vetting.verdicts)
        scripts: list[tuple[Script, Location | None]] = []
        for server in config.virtual_server:
            scripts += [(s, server.where) for s in (server.quorum_up, server.quorum_down) if s is not None]
            for real in server.real_server:
                scripts += [(s, real.where) for s in (real.notify_up, real.notify_down) if s is not None]
                scripts += [(Script(m.misc_path or "/bin/false", *(m.user or ())), m.where) for m in real.misc_checks]
        for script, where in scripts:
            self.vetting.vet_notify(script, "check")
            self._take(where)
        return self.vetting.verdicts[start:]

    def _violation(self, verdicts: Iterable[Verdict], what: str) -> None:
        message = security_violation(list(verdicts), self.security, what)
        if message is not None:
            self.diagnostics.append(Diagnostic(Severity.WARNING, message, None, Status.SECURITY))


def check_scripts(config: Config, vrrp: bool = True) -> tuple[Config, list[Diagnostic]]:
    """The configuration with the scripts keepalived would drop dropped, and what keepalived says of them.
    `vrrp`: False when keepalived's VRRP process stops before its checks (the checker's still run)."""
    check = ScriptCheck(config, vrrp)
    return check.run(), check.diagnostics
