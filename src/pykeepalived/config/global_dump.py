"""keepalived 2.2.7's dump files: where they go, and the "Global definitions" section every .data file
starts with (core/global_data.c dump_global_data()), from the configuration and a few facts of the process.

Lines for what pykeepalived does not have (BFD, SNMP, DBus, netlink buffer sizes) carry keepalived's
defaults, so that tools reading the files find every line they expect.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Config, GlobalDefs

KEEPALIVED_TMP_DIR = "/tmp"
# keepalived's defaults for what it prints in any case.
DEFAULT_RLIMIT_RTTIME_US = 10_000
MIN_AUTO_PRIORITY_DELAY_US = 1_000_000
RX_BUFS_MULTIPLES = 3
# garp_lower_prio_delay/_repeat unset, as the parent process prints them (unsigned -1).
PARAMETER_UNSET = 2**32 - 1
DEFAULT_INTERFACE = "eth0"


def tmp_dir(environ_tmpdir: str | None) -> str:
    """keepalived's set_tmp_dir(): $TMPDIR if it is an absolute path, else /tmp."""
    return environ_tmpdir if environ_tmpdir and environ_tmpdir.startswith("/") else KEEPALIVED_TMP_DIR


def root_option(config: Config, keyword: str) -> tuple[str, ...] | None:
    """The words after a top-level keyword the model keeps as written (`instance`, `net_namespace`)."""
    return next((o.args for o in config.options if o.keyword == keyword), None)


def global_option(global_defs: GlobalDefs, keyword: str) -> tuple[str, ...] | None:
    return next((o.args for o in global_defs.options if o.keyword == keyword), None)


def _flag(global_defs: GlobalDefs, keyword: str) -> bool:
    """A global_defs flag kept as written: present, and not followed by false/no/off."""
    args = global_option(global_defs, keyword)
    return args is not None and (not args or args[0].lower() not in ("false", "no", "off", "0"))


def _number(global_defs: GlobalDefs, keyword: str, default: int) -> int:
    args = global_option(global_defs, keyword)
    try:
        return int(args[0]) if args else default
    except ValueError:
        return default


def data_file(directory: str, config: Config, file_name: str) -> str:
    """keepalived's open_dump_file(): with data_use_instance and an `instance` or `net_namespace`, the .data
    files carry them before the extension (keepalived.NS_INSTANCE.data); .stats and .json never do."""
    instance_name, namespace_name = config.instance, config.net_namespace
    if _flag(config.global_defs, "data_use_instance") and (instance_name or namespace_name):
        stem, _, extension = file_name.rpartition(".")
        middle = "_".join(name for name in (namespace_name, instance_name) if name)
        return f"{directory}/{stem}.{middle}.{extension}"
    return f"{directory}/{file_name}"


@dataclass(frozen=True)
class ProcessFacts:
    """What the Global definitions section needs beyond the configuration."""

    hostname: str
    umask: int
    # The default script user's uid and gid, if there is one.
    script_user: tuple[int, int] | None
    # The VRRP process resolves instance defaults (garp lower priority) and names the default interface.
    vrrp: bool


def _on_off(value: bool) -> str:
    return "on" if value else "unset"


def _bool(value: bool) -> str:
    return "true" if value else "false"


def global_definitions(config: Config, facts: ProcessFacts) -> list[str]:
    g = config.global_defs
    namespace_ipvs = root_option(config, "net_namespace_ipvs")
    lines = ["------< Global definitions >------"]
    save_dir = global_option(g, "config_save_dir")
    if save_dir:
        lines.append(f" Config save dir = {save_dir[0]}")
    lines.append(f" Network namespace = {config.net_namespace or '(default)'}")
    if namespace_ipvs is None:
        lines.append(" Network namespace ipvs = (main namespace)")
    else:
        lines.append(f" Network namespace ipvs = {namespace_ipvs[0] if namespace_ipvs else '(default)'}")
    if config.instance:
        lines.append(f" Instance name = {config.instance}")
    lines.append(f" Router ID = {g.router_id or facts.hostname}")
    if g.smtp_server is not None:
        address, port = g.smtp_server
        lines += [f" Smtp server = {address}", f" Smtp server port = {port}"]
        if g.smtp_helo_name:
            lines.append(f" Smtp HELO name = {g.smtp_helo_name}")
        lines.append(f" Smtp server connection timeout = {g.smtp_connect_timeout}")
    if g.notification_email_from:
        lines.append(f" Email notification from = {g.notification_email_from}")
        lines.append(" Email notification to:")
        lines += [f"   {email}" for email in g.notification_email]
    lines += [
        f" Default smtp_alert = {_on_off(g.smtp_alert)}",
        f" Default smtp_alert_vrrp = {_on_off(g.smtp_alert_vrrp)}",
        f" Default smtp_alert_checker = {_on_off(g.smtp_alert_checker)}",
        f" Checkers log all failures = {_bool(_flag(g, 'checker_log_all_failures'))}",
    ]
    reload_check = global_option(g, "reload_check_config")
    if reload_check is not None:
        lines.append(f" Test config before reload, log to {reload_check[0] if reload_check else ''}")
    else:
        lines.append(" No test config before reload")
    copy_dir = global_option(g, "tmp_config_directory")
    if copy_dir:
        lines.append(f" config save directory = {copy_dir[0]}")
    if _flag(g, "data_use_instance"):
        lines.append(" Use instance name in data dumps")
    lines.append(f" Dynamic interfaces = {_bool(g.dynamic_interfaces)}")
    if g.dynamic_interfaces:
        lines.append(f" Allow interface changes = {_bool(_flag(g, 'dynamic_interfaces_allow_if_changes'))}")
    if g.lvs_timeouts is not None:
        tcp, tcp_fin, udp = g.lvs_timeouts
        # keepalived labels the UDP timeout "TCP" too.
        lines += [f" LVS TCP timeout = {v}" if i != 1 else f" LVS TCP FIN timeout = {v}"
                  for i, v in enumerate((tcp, tcp_fin, udp)) if v]  # fmt: skip
    if facts.vrrp:
        default_interface = global_option(g, "default_interface")
        lines.append(f" Default interface = {default_interface[0] if default_interface else DEFAULT_INTERFACE}")
    lines.append(" Disable local IGMP = no")
    sync = config.sync_daemon()
    if sync is not None:
        if sync.instance:
            lines.append(f" LVS syncd vrrp instance = {sync.instance}")
        lines += [f" LVS syncd interface = {sync.interface}", f" LVS syncd syncid = {sync.syncid or 0}"]
    flush_on_stop = _flag(g, "lvs_flush_onstop") or _flag(g, "lvs_flush_on_stop")
    lines += [f" LVS flush = {_bool(g.lvs_flush)}", f" LVS flush on stop = {'full' if flush_on_stop else 'disabled'}"]
    for title, fifo in (("Global", g.notify_fifo), ("VRRP", g.vrrp_notify_fifo), ("LVS", g.lvs_notify_fifo)):
        if fifo:
            lines.append(f" {title} notify fifo = {fifo[0]}, uid:gid 0:0")
    lines += [
        f" FIFO write vrrp states on reload = {_bool(_flag(g, 'fifo_write_vrrp_states_on_reload'))}",
        f" VRRP notify priority changes = {_bool(_flag(g, 'vrrp_notify_priority_changes'))}",
        f" VRRP IPv4 mcast group = {g.vrrp_mcast_group4}",
        f" VRRP IPv6 mcast group = {g.vrrp_mcast_group6}",
        f" Gratuitous ARP delay = {g.vrrp_garp_master_delay}",
        f" Gratuitous ARP repeat = {g.vrrp_garp_master_repeat}",
        f" Gratuitous ARP refresh timer = {g.vrrp_garp_master_refresh}",
        f" Gratuitous ARP refresh repeat = {g.vrrp_garp_master_refresh_repeat}",
    ]
    lower_delay, lower_repeat = g.vrrp_garp_lower_prio_delay, g.vrrp_garp_lower_prio_repeat
    if facts.vrrp:
        # The VRRP process fills them in from the master delay and repeat, as keepalived's does.
        lower_delay = g.vrrp_garp_master_delay if lower_delay is None else lower_delay
        lower_repeat = g.vrrp_garp_master_repeat if lower_repeat is None else lower_repeat
    lines += [
        f" Gratuitous ARP lower priority delay = {PARAMETER_UNSET if lower_delay is None else lower_delay}",
        f" Gratuitous ARP lower priority repeat = {PARAMETER_UNSET if lower_repeat is None else lower_repeat}",
        f" Num adverts before down = {_number(g, 'vrrp_down_timer_adverts', 3)}",
        " Gratuitous ARP for each secondary VMAC = 0s",
        f" Send advert after receive lower priority advert = {_bool(not g.vrrp_lower_prio_no_advert)}",
        f" Send advert after receive higher priority advert = {_bool(g.vrrp_higher_prio_send_advert)}",
        f" Gratuitous ARP interval = {g.vrrp_garp_interval:f}",
        f" Gratuitous NA interval = {g.vrrp_gna_interval:f}",
        f" VRRP default protocol version = {g.vrrp_version}",
        " nftables without counters",
        f" VRRP check unicast_src = {_bool(_flag(g, 'vrrp_check_unicast_src'))}",
        f" VRRP skip check advert addresses = {_bool(g.vrrp_skip_check_adv_addr)}",
        f" VRRP strict mode = {_bool(g.vrrp_strict)}",
    ]
    if g.max_auto_priority == -1:
        lines.append(" Max auto priority = Disabled")
    else:
        lines.append(f" Max auto priority = {g.max_auto_priority or 0}")
    lines += [
        f" Min auto priority delay = {_number(g, 'min_auto_priority_delay', MIN_AUTO_PRIORITY_DELAY_US)} usecs",
        f" VRRP process priority = {g.vrrp_priority or 0}",
        f" VRRP don't swap = {_bool(_flag(g, 'vrrp_no_swap'))}",
        f" VRRP realtime priority = {g.vrrp_rt_priority or 0}",
        f" VRRP realtime limit = {g.vrrp_rlimit_rttime or DEFAULT_RLIMIT_RTTIME_US}",
        f" Checker process priority = {g.checker_priority or 0}",
        f" Checker don't swap = {_bool(_flag(g, 'checker_no_swap'))}",
        f" Checker realtime priority = {_number(g, 'checker_rt_priority', 0)}",
        f" Checker realtime limit = {_number(g, 'checker_rlimit_rttime', DEFAULT_RLIMIT_RTTIME_US)}",
        f" BFD process priority = {_number(g, 'bfd_priority', 0)}",
        f" BFD don't swap = {_bool(_flag(g, 'bfd_no_swap'))}",
        f" BFD realtime priority = {_number(g, 'bfd_rt_priority', 0)}",
        f" BFD realtime limit = {_number(g, 'bfd_rlimit_rttime', DEFAULT_RLIMIT_RTTIME_US)}",
        # Not provided (issue 12 point 3 says so at start): disabled, as keepalived prints them unconfigured.
        " SNMP vrrp disabled",
        " SNMP checker disabled",
        " SNMP RFCv2 disabled",
        " SNMP RFCv3 disabled",
        " SNMP traps disabled",
        " SNMP socket = default (unix:/var/agentx/master)",
        " DBus disabled",
        " DBus service name = ",
        f" Script security {'enabled' if g.enable_script_security else 'disabled'}",
    ]
    if facts.script_user is not None:
        lines.append(f" Default script uid:gid {facts.script_user[0]}:{facts.script_user[1]}")
    lines += [
        f" {name} = {_number(g, name, 0)}"
        for name in (
            "vrrp_netlink_cmd_rcv_bufs", "vrrp_netlink_cmd_rcv_bufs_force",
            "vrrp_netlink_monitor_rcv_bufs", "vrrp_netlink_monitor_rcv_bufs_force",
            "process_monitor_rcv_bufs", "process_monitor_rcv_bufs_force",
            "lvs_netlink_cmd_rcv_bufs", "lvs_netlink_cmd_rcv_bufs_force",
            "lvs_netlink_monitor_rcv_bufs", "lvs_netlink_monitor_rcv_bufs_force",
            "rs_init_notifies", "no_checker_emails",
        )
    ]  # fmt: skip
    lines += [
        f" rx_bufs_multiples = {_number(g, 'vrrp_rx_bufs_multiplier', RX_BUFS_MULTIPLES)}",
        f" umask = 0{facts.umask:o}",
    ]
    if g.vrrp_startup_delay:
        lines.append(f" vrrp_startup_delay = {g.vrrp_startup_delay:g}")
    if global_option(g, "log_unknown_vrids") is not None:
        lines.append(" log_unknown_vrids")
    return lines
