"""What the VRRP process tells the outside world of state changes: notify scripts, the notify FIFOs and
SMTP alerts, in the order the transitions happen, with keepalived's arguments, lines and subjects."""

from __future__ import annotations

import logging
import os

from ..config.model import Config, Script
from ..io.alerts import send_alert
from ..io.script_security import ScriptVetting
from ..io.scripts import run_command
from ..vrrp.instance import MasterRxLowerPriority, SplitBrain, State, StateChange
from .background import BackgroundTasks
from .vrrp_setup import InstanceSpec

ALERT_BODIES = {
    "MASTER": "=> VRRP Instance is now owning VRRP VIPs <=",
    "BACKUP": "=> VRRP Instance is no longer owning VRRP VIPs <=",
    "FAULT": "=> VRRP Instance is no longer owning VRRP VIPs <=",
    "STOP": "=> Stopping VRRP Instance <=",
}


def notify_fifo_line(kind: str, name: str, state: str, priority: int) -> str:
    """keepalived's FIFO line: INSTANCE "VI_1" MASTER 100."""
    return f'{kind} "{name}" {state} {priority}\n'


class NotifyFifo:
    """keepalived's notify_fifo: created if missing, one line per state change, in order."""

    def __init__(self, path: str, logger: logging.Logger) -> None:
        self.path = path
        self.logger = logger
        if not os.path.exists(path):
            os.mkfifo(path, 0o600)
        # Opened read-write so that writing never blocks or fails while no reader is attached.
        self.fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)

    def write(self, line: str) -> None:
        try:
            os.write(self.fd, line.encode())
        except OSError as error:
            self.logger.warning(f"notify fifo {self.path}: {error}")

    def close(self) -> None:
        os.close(self.fd)


class Notifier:
    def __init__(self, config: Config, vetting: ScriptVetting, logger: logging.Logger) -> None:
        self.config = config
        self.vetting = vetting
        self.logger = logger
        self.fifos: list[NotifyFifo] = []
        # Scripts and mails under way: the process gives them a moment when it stops.
        self.pending = BackgroundTasks(logger)

    def vet(self, specs: list[InstanceSpec]) -> None:
        """Every notify script, at start, as keepalived checks them when it reads its configuration."""
        global_defs = self.config.global_defs
        for fifo_script, kind in (
            (global_defs.notify_fifo_script, "notify_fifo"),
            (global_defs.vrrp_notify_fifo_script, "vrrp_notify_fifo"),
        ):
            if fifo_script is not None:
                self.vetting.vet_notify(fifo_script, kind)
        scripts: list[Script] = []
        for spec in specs:
            scripts += [script for _, script in spec.notify_scripts]
            scripts += [spec.notify] if spec.notify else []
            scripts += [spec.notify_master_rx_lower_pri] if spec.notify_master_rx_lower_pri else []
        for group in self.config.vrrp_sync_group:
            scripts += [s for s in (group.notify_master, group.notify_backup, group.notify_fault,
                                    group.notify_stop, group.notify) if s]  # fmt: skip
        for script in scripts:
            self.vetting.vet_notify(script)

    def open(self) -> None:
        global_defs = self.config.global_defs
        # keepalived writes each line to both FIFOs when both are configured.
        for fifo, fifo_script in (
            (global_defs.notify_fifo, global_defs.notify_fifo_script),
            (global_defs.vrrp_notify_fifo, global_defs.vrrp_notify_fifo_script),
        ):
            if fifo:
                self.fifos.append(NotifyFifo(fifo[0], self.logger))
                if fifo_script is not None:
                    self._run(fifo_script, (fifo[0],))

    def close(self) -> None:
        for fifo in self.fifos:
            fifo.close()

    def instance_changed(self, spec: InstanceSpec, change: StateChange) -> None:
        name, state = spec.params.name, change.new.value
        for fifo in self.fifos:
            fifo.write(notify_fifo_line("INSTANCE", name, state, change.priority))
        for script_state, script in spec.notify_scripts:
            if script_state == state:
                self._run(script)
        if spec.notify is not None:
            self._run(spec.notify, ("INSTANCE", name, state, str(change.priority)))
        if spec.smtp_alert and state in ALERT_BODIES:
            subject = "Stopping" if state == "STOP" else f"Entering {state} state"
            self._alert(f"VRRP Instance {name} - {subject}", ALERT_BODIES[state])

    def master_rx_lower_priority(self, spec: InstanceSpec, event: MasterRxLowerPriority) -> None:
        """keepalived's MASTER_RX_LOWER_PRI event: the instance's script, and a FIFO line."""
        if spec.notify_master_rx_lower_pri is not None:
            self._run(spec.notify_master_rx_lower_pri)
        for fifo in self.fifos:
            fifo.write(notify_fifo_line("INSTANCE", spec.params.name, "MASTER_RX_LOWER_PRI", event.our_priority))

    def group_changed(self, name: str, state: State) -> None:
        """A sync group's notify scripts and FIFO line (keepalived reports groups with priority 0)."""
        for fifo in self.fifos:
            fifo.write(notify_fifo_line("GROUP", name, state.value, 0))
        configured = next(g for g in self.config.vrrp_sync_group if g.name == name)
        scripts = {"MASTER": configured.notify_master, "BACKUP": configured.notify_backup,
                   "FAULT": configured.notify_fault, "STOP": configured.notify_stop}  # fmt: skip
        script = scripts.get(state.value)
        if script is not None:
            self._run(script)
        if configured.notify is not None:
            self._run(configured.notify, ("GROUP", name, state.value, "0"))

    def split_brain(self, spec: InstanceSpec, event: SplitBrain) -> None:
        if spec.smtp_alert:
            self._alert(
                f"VRRP Instance {spec.params.name} - split brain",
                f"=> {event.other} (priority {event.their_priority}) is also MASTER; "
                f"we are {spec.params.primary} (priority {event.our_priority}) <=",
            )

    def _alert(self, subject: str, body: str) -> None:
        self.pending.start(send_alert(self.config.global_defs, subject, body, self.logger), f"alert '{subject}'")

    def _run(self, script: Script, arguments: tuple[str, ...] = ()) -> None:
        vetted = self.vetting.vet_notify(script)
        if vetted is None:
            return
        run_as, argv = vetted
        self.pending.start(run_command((*argv, *arguments), run_as, None), f"notify script {script.command}")
