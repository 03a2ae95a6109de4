"""The VRRP instance state machine, sans I/O, with keepalived 2.2.7's behaviour.

An Instance is driven by events that carry the current time (Start, AdvertIn, Timer, Stop, Fault, PriorityChange)
and answers with actions (SendAdvert, AddAddresses, ...) for an adapter to carry out. One table says, for
every (state, event type) pair, which handler runs and which states it may move the instance to; a move
the table does not allow raises (`state_diagram()` draws the table).

Timing follows keepalived: Master_Down_Interval = 3 x Master_Adver_Interval + Skew_Time, where
Skew_Time = (256 - priority) / 256 s in VRRPv2 and (256 - priority) x Master_Adver_Interval / 256 in
VRRPv3, all in integer microseconds as keepalived computes them.

Over 400 lines: the events, the actions, the handlers and the transition table are one state machine.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from .packet import AUTH_AH, AUTH_NONE, AUTH_PASS, Advert, IPAddr
from .validate import Drop, DropReason, Expectations, Received, check

PRIORITY_OWNER = 255
PRIORITY_STOP = 0
US = 1_000_000


class State(enum.Enum):
    INIT = "INIT"
    BACKUP = "BACKUP"
    MASTER = "MASTER"
    FAULT = "FAULT"
    STOP = "STOP"


@dataclass(frozen=True)
class Params:
    """What the state machine needs to know about its instance (derived from the configuration)."""

    name: str
    vrid: int
    version: int
    priority: int
    advert_int_cs: int
    addresses: tuple[IPAddr, ...]
    # Our address in adverts: it breaks ties between equal priorities.
    primary: IPAddr
    want_master: bool = False
    preempt: bool = True
    preempt_delay: float = 0.0
    auth_type: int = AUTH_NONE
    auth_data: bytes = bytes(8)
    unicast: bool = False
    unicast_peers: tuple[IPAddr, ...] = ()
    skip_check_adv_addr: bool = False
    garp_delay: float = 5.0
    garp_repeat: int = 5
    garp_refresh: float = 0.0
    garp_refresh_repeat: int = 1
    # When MASTER hears a lower priority: gratuitous ARPs at once, and again after a delay.
    garp_lower_prio_repeat: int = 5
    garp_lower_prio_delay: float = 5.0
    lower_prio_no_advert: bool = False
    higher_prio_send_advert: bool = False
    down_timer_adverts: int = 3
    # In a vrrp_sync_group: the group decides when members become MASTER (see sync_group.py).
    in_sync_group: bool = False


# ----- events ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    now: float
    # The instance starts unusable: its interface is down or a tracked object says so.
    fault: bool = False
    # Its addresses are still set, with the lifetime only a running master renews: a VRRP process of ours
    # that held them died a moment ago and this one replaces it.
    held: bool = False
    # vrrp_startup_delay: a BACKUP's master-down timer counts from this long after start (not for `held`).
    delay: float = 0.0


@dataclass(frozen=True)
class AdvertIn:
    received: Received
    now: float


@dataclass(frozen=True)
class Timer:
    now: float


@dataclass(frozen=True)
class Stop:
    now: float
    # False for keepalived's --dont-release-vrrp: no priority-0 advert, the addresses and routes stay.
    release: bool = True


@dataclass(frozen=True)
class Fault:
    """The instance became unusable (interface down, a tracked object failed) or usable again."""

    active: bool
    now: float


@dataclass(frozen=True)
class PriorityChange:
    """Tracked objects moved the priority: base priority plus their weights, within [1, 254]."""

    priority: int
    now: float


@dataclass(frozen=True)
class GroupMaster:
    """The sync group moves every member to MASTER."""

    now: float


@dataclass(frozen=True)
class GroupBackup:
    """A sync group member lost MASTER to a higher priority: the others step down too."""

    now: float


@dataclass(frozen=True)
class Reconfigure:
    """A reload kept the instance, with new settings (priority, addresses, interval, peers...): its state, its
    addresses and its timers stay, as keepalived keeps a reloaded instance's."""

    params: Params
    now: float


Event = Start | AdvertIn | Timer | Stop | Fault | PriorityChange | GroupMaster | GroupBackup | Reconfigure


# ----- actions --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendAdvert:
    advert: Advert
    # With AH authentication: the sequence number this advert carries.
    ah_sequence: int | None = None


@dataclass(frozen=True)
class AddAddresses:
    pass


@dataclass(frozen=True)
class RemoveAddresses:
    pass


@dataclass(frozen=True)
class SendGratuitous:
    """Gratuitous ARP / unsolicited NA for every address, `repeat` rounds."""

    repeat: int


@dataclass(frozen=True)
class Log:
    message: str
    # Only logged with -D/--log-detail, as in keepalived.
    detail: bool = False


@dataclass(frozen=True)
class WantMaster:
    """A sync group member's down timer ran out: it becomes MASTER when all members want to."""


@dataclass(frozen=True)
class SplitBrain:
    """Another router is MASTER for our VRID at the same time as we are."""

    other: IPAddr
    their_priority: int
    our_priority: int


@dataclass(frozen=True)
class MasterRxLowerPriority:
    """As MASTER, we heard a lower priority advert: keepalived's notify_master_rx_lower_pri event."""

    source: IPAddr
    their_priority: int
    our_priority: int


@dataclass(frozen=True)
class StateChange:
    old: State
    new: State
    priority: int


Action = (
    SendAdvert
    | AddAddresses
    | RemoveAddresses
    | SendGratuitous
    | Log
    | StateChange
    | WantMaster
    | SplitBrain
    | MasterRxLowerPriority
)


@dataclass
class Instance:
    params: Params
    state: State = State.INIT
    faulted: bool = False
    effective_priority: int = 0
    master_adver_int_cs: int = 0
    ms_down_timer_us: int = 0
    # The instance's one protocol timer: the down timer in BACKUP, the advert timer in MASTER.
    sands: float | None = None
    garp_at: float | None = None
    garp_at_repeat: int = 0
    garp_refresh_at: float | None = None
    preempt_until: float | None = None
    vips_set: bool = False
    wants_master: bool = False
    master_source: IPAddr | None = None
    # The priority in the master's last advert that kept us BACKUP, and when the state last changed
    # (both for keepalived's dump files).
    master_priority: int = 0
    last_transition: float | None = None
    # The master whose adverts held us in BACKUP (until it sent priority 0), with its last advert's IP
    # identification and when we heard it.
    heard_master: IPAddr | None = None
    heard_ident: tuple[int, float] | None = None
    # The master we timed out on, as last heard. If it comes back with its IP identification counted on
    # by about one per advert interval, it kept advertising while we were MASTER: a split brain seen from
    # the lower priority side (a restarted daemon counts from 1 again).
    took_over_from: IPAddr | None = None
    took_over_ident: tuple[int, float] | None = None
    # Adverts sent out of turn (answers to lower-priority or priority-0 adverts) are limited to one per
    # advert interval: each reaches every peer, and a flood of valid adverts must not make us flood the LAN.
    answered_at: float | None = None
    # When the split brain being reported was last seen: one report per episode, whatever the sources.
    split_brain_at: float | None = None
    # AH: the highest sequence number sent or accepted (a new master continues the old one's count).
    ah_sequence: int = 0
    # Until then (vrrp_startup_delay), a master-down timer counts from then rather than from now.
    delayed_until: float | None = None
    counters: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.effective_priority = self.params.priority
        self.master_adver_int_cs = self.params.advert_int_cs
        self._actions: list[Action] = []
        self._may_enter: frozenset[State] = frozenset()
        self._adverts: dict[int, Advert] = {}

    # ----- public interface ---------------------------------------------------------------------

    def handle(self, event: Event) -> list[Action]:
        """Feed one event; return what to do, in order."""
        self._actions = []
        transition = TRANSITIONS[(self.state, type(event))]
        self._may_enter = transition.to
        before = self.state
        transition.handler(self, event)
        if self.state is not before:
            self.last_transition = event.now
        return self._actions

    @property
    def next_deadline(self) -> float | None:
        deadlines = [d for d in (self.sands, self.garp_at, self.garp_refresh_at) if d is not None]
        return min(deadlines) if deadlines else None

    @property
    def expectations(self) -> Expectations:
        p = self.params
        return Expectations(
            p.name, p.version, p.auth_type, p.auth_data, p.advert_int_cs, p.addresses, p.unicast, p.unicast_peers
        )

    # ----- timing -------------------------------------------------------------------------------

    def skew_us(self, priority: int | None = None) -> int:
        value = 256 - (self.effective_priority if priority is None else priority)
        if self.params.version == 3:
            return value * self.master_adver_int_cs * 625 // 16
        return value * US // 256

    def master_down_us(self) -> int:
        return self.params.down_timer_adverts * self.master_adver_int_cs * 10_000 + self.skew_us()

    def _arm_down_timer(self, now: float) -> None:
        if self.delayed_until is not None and now < self.delayed_until:
            now = self.delayed_until
        self.sands = now + self.ms_down_timer_us / US

    def _arm_advert_timer(self, now: float) -> None:
        self.sands = now + self.params.advert_int_cs / 100

    def _may_answer(self, now: float) -> bool:
        """Whether an answer out of turn may go now: none went out less than an advert interval ago."""
        if self.answered_at is not None and now - self.answered_at < self.params.advert_int_cs / 100:
            self.counters["answers_not_sent"] += 1
            return False
        self.answered_at = now
        return True

    def _advertise_now(self, now: float) -> None:
        """An advert out of turn: the next one is due an interval after it."""
        self._send(self.effective_priority)
        self._arm_advert_timer(now)

    # ----- helpers ------------------------------------------------------------------------------

    def _do(self, *actions: Action) -> None:
        self._actions.extend(actions)

    def _log(self, message: str, detail: bool = False) -> None:
        self._do(Log(f"({self.params.name}) {message}", detail))

    def _advert(self, priority: int) -> Advert:
        advert = self._adverts.get(priority)
        if advert is None:
            p = self.params
            # The password travels in PASS adverts only; AH adverts carry eight zero bytes.
            auth_data = p.auth_data if p.version == 2 and p.auth_type == AUTH_PASS else bytes(8)
            advert = Advert(p.version, p.vrid, priority, p.addresses, p.advert_int_cs, p.auth_type, auth_data)
            self._adverts[priority] = advert
        return advert

    def _send(self, priority: int) -> None:
        self.counters["adverts_sent"] += 1
        if priority == PRIORITY_STOP:
            self.counters["priority_zero_sent"] += 1
        sequence = None
        if self.params.auth_type == AUTH_AH:
            self.ah_sequence += 1
            sequence = self.ah_sequence
        self._do(SendAdvert(self._advert(priority), sequence))

    def _set_state(self, new: State, announce: bool = True) -> None:
        """Move to `new` (announced as a StateChange unless keepalived moves there silently)."""
        old = self.state
        if old != new and new not in self._may_enter:
            raise InvalidTransition(f"{old.value} -> {new.value} is not in the transition table")
        self.state = new
        if old != new and announce:
            self._do(StateChange(old, new, self.effective_priority))

    def _verdict(self, received: Received, check_addresses: bool = True) -> Drop | None:
        if received.advert.vrid != self.params.vrid:
            self.counters["drop_vrid"] += 1
            return Drop(DropReason.VRID, f"({self.params.name}) advert for VRID {received.advert.vrid} is not ours")
        verdict = check(received, self.expectations, check_addresses, self.ah_sequence)
        if verdict.ah_sequence is not None:
            self.ah_sequence = verdict.ah_sequence
        drop = verdict.drop
        if drop is not None:
            self.counters[f"drop_{drop.reason.value}"] += 1
            self._do(Log(drop.log))
        else:
            self.counters["adverts_received"] += 1
            if received.advert.priority == PRIORITY_STOP:
                self.counters["priority_zero_received"] += 1
        return drop

    def _update_master_adver_int(self, advert: Advert) -> None:
        if self.params.version == 3 and advert.interval_cs != self.master_adver_int_cs:
            self._log(
                f"advertisement interval updated from {self.master_adver_int_cs * 10}ms to "
                f"{advert.interval_cs * 10}ms by master",
                detail=True,
            )
            self.master_adver_int_cs = advert.interval_cs

    # ----- handlers -----------------------------------------------------------------------------

    def _on_start(self, event: Start) -> None:
        self.faulted = event.fault
        if event.held and not self.faulted:
            # A restarted process: taking the addresses back at once keeps them where they are, rather than
            # removing them and letting the backup take them for a moment.
            self._log("addresses still set by the VRRP process that ran before: taking them back at once")
            self._set_state(State.BACKUP, announce=False)
            self.ms_down_timer_us = 1
            self._arm_down_timer(event.now)
            return
        if event.delay:
            self.delayed_until = event.now + event.delay
        # Addresses of ours left behind by an earlier run (a crash) must go before anything else.
        self._do(RemoveAddresses())
        if self.faulted:
            self._log("Entering FAULT STATE (init)")
            self._set_state(State.FAULT)
            self.sands = None
            return
        if self.params.want_master and self.params.priority == PRIORITY_OWNER:
            # keepalived: the address owner goes through BACKUP silently and times out of it almost at once.
            self._set_state(State.BACKUP, announce=False)
            self.ms_down_timer_us = 1
        else:
            self.ms_down_timer_us = self.master_down_us()
            self._log("Entering BACKUP STATE (init)")
            self._set_state(State.BACKUP)
        self._arm_down_timer(event.now)

    def _ignore(self, event: Event) -> None:
        if isinstance(event, AdvertIn):
            self.counters["ignored_not_running"] += 1

    def _record_fault(self, event: Fault) -> None:
        self.faulted = event.active

    def _reconfigure(self, event: Reconfigure) -> None:
        old, self.params = self.params, event.params
        # The cached adverts carry the old addresses, interval and authentication.
        self._adverts.clear()
        if self.params.priority == PRIORITY_OWNER:
            self.effective_priority = PRIORITY_OWNER
        if self.params.advert_int_cs == old.advert_int_cs:
            return
        self._log(f"advert interval now {self.params.advert_int_cs / 100:g} s", detail=True)
        if self.state is State.MASTER:
            self.master_adver_int_cs = self.params.advert_int_cs
            self._arm_advert_timer(event.now)
        elif self.state is State.BACKUP:
            # Until the master's next advert tells its interval, wait as long as the longer of the two.
            self.ms_down_timer_us = max(self.ms_down_timer_us, self.master_down_us())

    def _priority_change(self, event: PriorityChange) -> None:
        if self.params.priority == PRIORITY_OWNER or event.priority == self.effective_priority:
            return
        self._log(f"Changing effective priority from {self.effective_priority} to {event.priority}", detail=True)
        self.effective_priority = event.priority

    def _backup_advert(self, event: AdvertIn) -> None:
        received, now = event.received, event.now
        advert = received.advert
        check_addresses = (
            not self.params.skip_check_adv_addr or self.master_source is None or received.source != self.master_source
        )
        if self._verdict(received, check_addresses) is not None:
            return
        delaying = self.params.preempt_delay > 0 and (self.preempt_until is None or self.preempt_until > now)
        if advert.priority == PRIORITY_STOP:
            self._log("Backup received priority 0 advertisement", detail=True)
            self.ms_down_timer_us = self.skew_us()
            # It released its addresses: our taking over is a hand-over, not a split.
            self.heard_master = self.heard_ident = None
        elif not self.params.preempt or advert.priority >= self.effective_priority or delaying:
            self.wants_master = False
            self._update_master_adver_int(advert)
            self.ms_down_timer_us = self.master_down_us()
            self.master_source = self.heard_master = received.source
            self.master_priority = advert.priority
            if received.ident is not None:
                self.heard_ident = (received.ident, now)
            if self.params.preempt_delay > 0:
                if advert.priority >= self.effective_priority:
                    self.preempt_until = None
                elif self.preempt_until is None:
                    self._log(f"start preempt delay ({self.params.preempt_delay:.6f})", detail=True)
                    self.preempt_until = now + self.params.preempt_delay
        else:
            self._log(f"received lower priority ({advert.priority}) advert from {received.source} - discarding")
            self.master_source = received.source
            # We are about to preempt it: a hand-over we chose, not a split.
            self.heard_master = self.heard_ident = None
            return
        self._arm_down_timer(now)

    def _backup_timer(self, event: Timer) -> None:
        if self.sands is None or event.now < self.sands:
            return
        self._log("Receive advertisement timeout", detail=True)
        if self.params.in_sync_group:
            # keepalived: wait (re-arming the down timer) until every member of the group wants MASTER.
            self.wants_master = True
            self.ms_down_timer_us = self.master_down_us()
            self._arm_down_timer(event.now)
            self._do(WantMaster())
            return
        self._become_master(event.now)

    def _group_master(self, event: GroupMaster) -> None:
        self._become_master(event.now)

    def _group_backup(self, event: GroupBackup) -> None:
        self._leave_master(event.now, State.BACKUP)

    def _become_master(self, now: float) -> None:
        self.preempt_until = None
        self.wants_master = False
        self.took_over_from, self.took_over_ident = self.heard_master, self.heard_ident
        self.heard_master = self.heard_ident = None
        self.split_brain_at = self.answered_at = None
        self._arm_advert_timer(now)
        # The advert goes first, so the old master drops the addresses before our gratuitous ARPs.
        self._send(self.effective_priority)
        self._log("Entering MASTER STATE")
        self.counters["became_master"] += 1
        self.master_adver_int_cs = self.params.advert_int_cs
        self._do(AddAddresses())
        self.vips_set = True
        self._do(SendGratuitous(self.params.garp_repeat))
        self._set_state(State.MASTER)
        self._schedule_garp(now, self.params.garp_delay, self.params.garp_repeat)
        self.garp_refresh_at = now + self.params.garp_refresh if self.params.garp_refresh > 0 else None

    def _master_timer(self, event: Timer) -> None:
        now = event.now
        if self.garp_at is not None and now >= self.garp_at:
            self.garp_at = None
            self._do(SendGratuitous(self.garp_at_repeat))
        if self.sands is not None and now >= self.sands:
            self._send(self.effective_priority)
            if self.garp_refresh_at is not None and now >= self.garp_refresh_at:
                self._do(SendGratuitous(self.params.garp_refresh_repeat))
                self.garp_refresh_at = now + self.params.garp_refresh
            self._arm_advert_timer(now)

    def _schedule_garp(self, now: float, delay: float, repeat: int) -> None:
        if delay > 0 and repeat > 0:
            self.garp_at, self.garp_at_repeat = now + delay, repeat
        else:
            self.garp_at = None

    def _master_advert(self, event: AdvertIn) -> None:
        received, now = event.received, event.now
        advert = received.advert
        # RFC 5798 6.4.3: a master discards invalid packets. keepalived re-arms its advert timer on
        # every packet it reads, so junk at the advert rate silenced it; here only our own adverts do.
        if self._verdict(received) is not None:
            return
        ours = self.effective_priority
        theirs = advert.priority
        address_order = _compare(received.source, self.params.primary)
        if theirs == PRIORITY_STOP or (
            self.params.higher_prio_send_advert and (theirs > ours or (theirs == ours and address_order > 0))
        ):
            if self._may_answer(now):
                self._advertise_now(now)
            if theirs == PRIORITY_STOP:
                self._log("Master received priority 0 message", detail=True)
                return
        if theirs == ours:
            if address_order == 0:
                self._log("WARNING - equal priority advert received from remote host with our IP address.")
            elif ours == PRIORITY_OWNER:
                self._log(
                    "CONFIGURATION ERROR: local instance and a remote instance are both configured as address "
                    "owner, please fix - reducing local priority"
                )
                self.effective_priority = ours = PRIORITY_OWNER - 1
        if theirs < ours or (theirs == ours and address_order < 0):
            self._lower_priority_master(received, now)
            return
        if theirs > ours:
            self._log(f"Master received advert from {received.source} with higher priority {theirs}, ours {ours}")
        else:
            self._log(
                f"Master received advert from {received.source} with same priority {theirs} but higher IP address "
                "than ours"
            )
        if received.source == self.took_over_from and self._kept_advertising(received, now):
            self._split_brain(received.source, theirs, now)
        self._update_master_adver_int(advert)
        self.master_source = received.source
        self._leave_master(now, State.BACKUP)

    def _kept_advertising(self, received: Received, now: float) -> bool:
        """Whether the master we took over from advertised all along: its IP identification went on from
        where we last heard it, about one per advert interval (keepalived's per-instance counter)."""
        if received.ident is None or self.took_over_ident is None:
            return False
        last_ident, heard_at = self.took_over_ident
        intervals = (now - heard_at) / (received.advert.interval_cs / 100)
        counted = (received.ident - last_ident) % 0x10000
        return intervals / 2 - 2 <= counted <= intervals * 3 / 2 + 2

    def _split_brain(self, other: IPAddr, their_priority: int, now: float) -> None:
        """Count and report two masters once per episode, however many adverts show it, from whichever sources."""
        previous, self.split_brain_at = self.split_brain_at, now
        if previous is not None and now - previous < self.master_down_us() / US:
            return
        self.counters["split_brain"] += 1
        self._do(
            SplitBrain(other, their_priority, self.effective_priority),
            Log(
                f"({self.params.name}) split brain: {other} (priority {their_priority}) is also MASTER for VRID "
                f"{self.params.vrid}; we are {self.params.primary} (priority {self.effective_priority})"
            ),
        )

    def _lower_priority_master(self, received: Received, now: float) -> None:
        """A lower priority router only advertises as MASTER if it could not hear us: two masters."""
        theirs, ours = received.advert.priority, self.effective_priority
        self._split_brain(received.source, theirs, now)
        if not self._may_answer(now):
            return
        suffix = "" if self.params.lower_prio_no_advert else ", forcing new election"
        self._log(f"Received advert from {received.source} with lower priority {theirs}, ours {ours}{suffix}")
        if received.ah is not None:
            self._log("IPSEC-AH : Syncing seq_num - Increment seq")
            self.ah_sequence = received.ah.sequence + 1
        if not self.params.lower_prio_no_advert:
            self._advertise_now(now)
        # The other router may have been master and have pointed the LAN's ARP caches at itself.
        if self.params.garp_lower_prio_repeat:
            self._do(SendGratuitous(self.params.garp_lower_prio_repeat))
            self._schedule_garp(now, self.params.garp_lower_prio_delay, self.params.garp_lower_prio_repeat)
        self._do(MasterRxLowerPriority(received.source, theirs, ours))

    def _leave_master(self, now: float, new: State) -> None:
        self.counters["released_master"] += 1
        if new is State.BACKUP:
            self._log("Entering BACKUP STATE")
        else:
            self._log("Entering FAULT STATE")
            self._send(PRIORITY_STOP)
        self._release()
        self._set_state(new)
        self.ms_down_timer_us = self.master_down_us()
        if new is State.BACKUP:
            self._arm_down_timer(now)
        else:
            self.sands = None

    def _release(self) -> None:
        if self.vips_set:
            self._log("removing VIPs.", detail=True)
            self._do(RemoveAddresses())
            self.vips_set = False
        self.garp_at = None
        self.garp_refresh_at = None

    def _fault(self, event: Fault) -> None:
        self.faulted = event.active
        if not event.active:
            return
        if self.state is State.MASTER:
            self._leave_master(event.now, State.FAULT)
            return
        self._log("Entering FAULT STATE")
        self._set_state(State.FAULT)
        self.sands = None

    def _leave_fault(self, event: Fault) -> None:
        self.faulted = event.active
        if event.active:
            return
        self.master_adver_int_cs = self.params.advert_int_cs
        self.ms_down_timer_us = self.master_down_us()
        self.heard_master = self.heard_ident = None
        self._log("Entering BACKUP STATE")
        self._set_state(State.BACKUP)
        self._arm_down_timer(event.now)

    def _stop(self, event: Stop) -> None:
        if self.state is State.MASTER and event.release:
            self._send(PRIORITY_STOP)
            self._log("sent 0 priority", detail=True)
        if event.release:
            self._release()
        self.sands = None
        self._set_state(State.STOP)


def _compare(a: IPAddr, b: IPAddr) -> int:
    """Order two addresses as keepalived's memcmp of the address bytes does."""
    if a.version != b.version:
        return 0
    return (a.packed > b.packed) - (a.packed < b.packed)


class InvalidTransition(AssertionError):
    """A handler tried a move the transition table does not allow: a bug in the engine."""


@dataclass(frozen=True)
class Transition:
    handler: Callable[..., None]
    # The states the handler may move the instance to (it may also stay).
    to: frozenset[State] = frozenset()


def _go(handler: Callable[..., None], *to: State) -> Transition:
    return Transition(handler, frozenset(to))


def _table() -> dict[tuple[State, type], Transition]:
    """Every (state, event type) pair: the handler that runs for it, and where it may lead."""
    ignore = _go(Instance._ignore)
    stop = _go(Instance._stop, State.STOP)
    priority = _go(Instance._priority_change)
    reconfigure = _go(Instance._reconfigure)
    rows: dict[State, dict[type, Transition]] = {
        State.INIT: {
            Start: _go(Instance._on_start, State.BACKUP, State.FAULT),
            AdvertIn: ignore,
            Timer: ignore,
            Stop: stop,
            Fault: _go(Instance._record_fault),
            PriorityChange: priority,
            GroupMaster: ignore,
            GroupBackup: ignore,
            Reconfigure: reconfigure,
        },
        State.BACKUP: {
            Start: ignore,
            AdvertIn: _go(Instance._backup_advert),
            Timer: _go(Instance._backup_timer, State.MASTER),
            Stop: stop,
            Fault: _go(Instance._fault, State.FAULT),
            PriorityChange: priority,
            GroupMaster: _go(Instance._group_master, State.MASTER),
            GroupBackup: ignore,
            Reconfigure: reconfigure,
        },
        State.MASTER: {
            Start: ignore,
            AdvertIn: _go(Instance._master_advert, State.BACKUP),
            Timer: _go(Instance._master_timer),
            Stop: stop,
            Fault: _go(Instance._fault, State.FAULT),
            PriorityChange: priority,
            GroupMaster: ignore,
            GroupBackup: _go(Instance._group_backup, State.BACKUP),
            Reconfigure: reconfigure,
        },
        State.FAULT: {
            Start: ignore,
            AdvertIn: ignore,
            Timer: ignore,
            Stop: stop,
            Fault: _go(Instance._leave_fault, State.BACKUP),
            PriorityChange: priority,
            GroupMaster: ignore,
            GroupBackup: ignore,
            Reconfigure: reconfigure,
        },
        State.STOP: {
            Start: ignore,
            AdvertIn: ignore,
            Timer: ignore,
            Stop: ignore,
            Fault: _go(Instance._record_fault),
            PriorityChange: priority,
            GroupMaster: ignore,
            GroupBackup: ignore,
            Reconfigure: reconfigure,
        },
    }
    return {(state, event_type): transition for state, row in rows.items() for event_type, transition in row.items()}


TRANSITIONS = _table()


def state_diagram() -> str:
    """The transition table as a Mermaid state diagram (docs/architecture.md holds its output)."""
    lines = ["stateDiagram-v2", "    [*] --> INIT"]
    for (state, event_type), transition in TRANSITIONS.items():
        for target in sorted(transition.to, key=lambda s: list(State).index(s)):
            lines.append(f"    {state.value} --> {target.value}: {event_type.__name__}")
    return "\n".join(lines) + "\n"
