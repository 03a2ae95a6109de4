"""Bad input: every message gives file:line and says what was expected. What keepalived corrects and runs
is a warning naming the value used (tests/unit/config/test_corrections.py has each correction); what it
will not run is an error that stops the daemon."""

from __future__ import annotations

from memfs import config_from, messages

from pykeepalived.core.diagnostics import Severity, Status

GOOD_INSTANCE = (
    "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id {vrid}\n priority {prio}\n"
    " virtual_ipaddress {{\n  {vip}\n }}\n}}\n"
)


def instance(vrid: str = "51", prio: str = "100", vip: str = "10.99.1.1") -> str:
    return GOOD_INSTANCE.format(vrid=vrid, prio=prio, vip=vip)


def only_error(result) -> str:  # type: ignore[no-untyped-def]
    errors = [str(d) for d in result.diagnostics if d.severity == Severity.ERROR]
    assert len(errors) == 1, messages(result)
    assert not result.runnable
    return errors[0]


def only_warning(result) -> str:  # type: ignore[no-untyped-def]
    warnings = [str(d) for d in result.diagnostics if d.severity == Severity.WARNING]
    assert len(warnings) == 1 and result.worst == Severity.WARNING, messages(result)
    assert result.runnable
    return warnings[0]


def test_good_config_has_no_messages() -> None:
    result = config_from(instance())
    assert result.diagnostics == ()
    assert result.runnable


def test_unclosed_block_names_the_line_it_was_opened() -> None:
    # keepalived closes it at the end of the file and runs.
    result = config_from("global_defs {\n router_id x\n}\n" + instance()[:-2])
    assert only_warning(result) == (
        "/etc/keepalived/keepalived.conf:4: warning: 'vrrp_instance' block opened here is never closed: "
        "missing '}' (it ends with the file)"
    )


def test_unclosed_value_block() -> None:
    result = config_from(
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  10.99.1.1\n"
    )
    unclosed = [m for m in messages(result) if "never closed" in m]
    assert unclosed == [
        f"/etc/keepalived/keepalived.conf:{line}: warning: '{keyword}' block opened here is never closed: "
        "missing '}' (it ends with the file)"
        for line, keyword in ((4, "virtual_ipaddress"), (1, "vrrp_instance"))
    ]


def test_extra_closing_brace() -> None:
    result = config_from(instance() + "}\n")
    assert only_warning(result) == "/etc/keepalived/keepalived.conf:9: warning: Extra '}' found (no block is open here)"


def test_bad_address() -> None:
    result = config_from(instance(vip="10.99.1.300"))
    assert messages(result)[0].startswith(
        "/etc/keepalived/keepalived.conf:6: warning: VRRP parsed invalid IP 10.99.1.300. skipping IP..."
    )
    assert result.config.vrrp_instance[0].virtual_ipaddress == ()


def test_priority_out_of_range_runs_with_keepalived_default() -> None:
    result = config_from(instance(prio="300").replace(" interface", " state MASTER\n interface"))
    assert messages(result) == [
        "/etc/keepalived/keepalived.conf:5: warning: number '300' outside range [1, 255]",
        "/etc/keepalived/keepalived.conf:5: warning: (VI_1) Priority not valid! must be between 1 & 255. "
        "Using default 100",
    ]
    # 100 as keepalived sets it, not the 255 an unset priority with state MASTER would give.
    assert result.config.vrrp_instance[0].effective_priority == 100


def test_out_of_range_seconds() -> None:
    result = config_from(instance().replace(" priority", " advert_int 0.001\n priority"))
    warning = only_warning(result)
    assert "advert_int '0.001' is invalid" in warning and ":4:" in warning and warning.endswith("; using 1")


def test_not_a_number() -> None:
    result = config_from(instance(vrid="fifty"))
    assert messages(result) == [
        "/etc/keepalived/keepalived.conf:3: warning: virtual_router_id 'fifty' is invalid: invalid number 'fifty' "
        "- ignoring",
        "/etc/keepalived/keepalived.conf:1: error: (VI_1) the virtual router id must be set",
    ]


def test_unknown_scheduler() -> None:
    result = config_from("virtual_server 10.99.1.1 80 {\n protocol TCP\n lb_algo roundrobin\n}\n")
    assert messages(result) == [
        "/etc/keepalived/keepalived.conf:3: warning: lb_algo 'roundrobin' is invalid: Invalid lvs_scheduler "
        "'roundrobin' - ignoring; using wlc",
        "/etc/keepalived/keepalived.conf:1: warning: Virtual server [10.99.1.1]:tcp:80: no scheduler set, "
        "setting default 'wlc'",
    ]


def test_missing_include_with_include_check() -> None:
    result = config_from("global_defs {\n include_check\n}\ninclude /etc/keepalived/missing.conf\n")
    assert only_error(result) == (
        "/etc/keepalived/keepalived.conf:4: error: Config files missing '/etc/keepalived/missing.conf'."
    )


def test_unmatched_wildcard_with_include_check_wildcard_match() -> None:
    result = config_from("global_defs {\n include_check wildcard_match\n}\ninclude /etc/keepalived/d/*.conf\n")
    assert "No config files matched '/etc/keepalived/d/*.conf'." in only_error(result)


def test_vrrp_script_without_script() -> None:
    result = config_from("vrrp_script chk {\n interval 2\n}\n")
    assert only_warning(result) == (
        "/etc/keepalived/keepalived.conf:3: warning: No script set for vrrp_script chk - removing"
    )
    assert result.config.vrrp_script == ()


def test_duplicate_vrid_on_one_interface() -> None:
    result = config_from(instance() + instance().replace("VI_1", "VI_2").replace("10.99.1.1", "10.99.1.2"))
    assert only_error(result) == (
        "/etc/keepalived/keepalived.conf:9: error: (VI_2) virtual_router_id 51 is already used on interface eth0 "
        "by vrrp_instance VI_1 (at /etc/keepalived/keepalived.conf:1)"
    )


def test_same_vrid_on_other_interface_or_family_is_fine() -> None:
    other = instance().replace("VI_1", "VI_2").replace("eth0", "eth1")
    ipv6 = instance(vip="fe80::1").replace("VI_1", "VI_3")
    assert config_from(instance() + other + ipv6).diagnostics == ()


def test_missing_virtual_router_id() -> None:
    result = config_from(instance().replace(" virtual_router_id 51\n", ""))
    assert only_error(result) == "/etc/keepalived/keepalived.conf:1: error: (VI_1) the virtual router id must be set"


def test_missing_interface_on_this_machine() -> None:
    result = config_from(instance(), interfaces=frozenset({"lo", "eth1"}))
    assert messages(result) == [
        "/etc/keepalived/keepalived.conf:2: error: WARNING - interface eth0 for vrrp_instance VI_1 doesn't exist",
        "error: Non-existent interface specified in configuration",
    ]
    # keepalived's CONFIG_BAD_IF, ranked below the message about the interface: -t exits 5.
    assert [d.exit_status for d in result.diagnostics] == [Status.REPORTED, Status.CANNOT_RUN]


def test_long_auth_pass_is_truncated_with_a_warning() -> None:
    text = instance().replace(" priority", " authentication {\n  auth_type PASS\n  auth_pass 0123456789\n }\n priority")
    result = config_from(text)
    assert result.worst == Severity.WARNING
    assert result.config.vrrp_instance[0].authentication.auth_pass == "01234567"


def test_keyword_without_value_is_where_keepalived_gives_up() -> None:
    result = config_from(instance().replace(" priority 100", " priority"))
    assert only_error(result) == (
        "/etc/keepalived/keepalived.conf:4: error: *** Configuration line starting `priority` is missing a "
        "parameter after keyword `priority` at word position 2"
    )
    assert [d.exit_status for d in result.diagnostics] == [Status.GAVE_UP]


def test_leaf_keyword_given_a_block_is_reported() -> None:
    result = config_from("global_defs {\n router_id {\n  x\n }\n}\n")
    assert any("'router_id' does not take a block" in m for m in messages(result))


def test_unknown_block_is_skipped_whole() -> None:
    result = config_from("bogus_block {\n a 1\n b {\n  c\n }\n}\n" + instance())
    assert messages(result) == [
        "/etc/keepalived/keepalived.conf:1: warning: Unknown keyword 'bogus_block' - skipping its block"
    ]
    assert result.config.vrrp_instance[0].name == "VI_1"


def test_self_referencing_definition_does_not_hang() -> None:
    result = config_from("$A=x$A\n$A\n")
    assert any("does not terminate" in m for m in messages(result))


def test_lvs_sync_daemon_reads_keepalived_forms_and_defaults_its_id_to_the_vrid() -> None:
    for line, expected in (
        ("lvs_sync_daemon eth0 VI_1", ("VI_1", 51, 0, None)),
        ("lvs_sync_daemon eth0 inst VI_1 id 9 maxlen 1400 group 239.1.1.1", ("VI_1", 9, 1400, "239.1.1.1")),
        ("lvs_sync_daemon eth0", (None, 0, 0, None)),
    ):
        result = config_from(f"global_defs {{\n {line}\n}}\n" + instance())
        assert result.runnable, messages(result)
        daemon = result.config.sync_daemon()
        assert daemon is not None and daemon.interface == "eth0"
        group = str(daemon.group) if daemon.group else None
        assert (daemon.instance, daemon.syncid, daemon.maxlen, group) == expected
    old_form = config_from("global_defs {\n lvs_sync_daemon eth0 VI_1 7\n}\n" + instance())
    assert messages(old_form) == [
        '/etc/keepalived/keepalived.conf:2: warning: Please use keyword "id" before lvs_sync_daemon SYNCID'
    ]
    deprecated = config_from(instance().replace(" priority", " lvs_sync_daemon_interface eth0\n priority"))
    daemon = deprecated.config.sync_daemon()
    assert daemon is not None and (daemon.interface, daemon.instance, daemon.syncid) == ("eth0", "VI_1", 51)


def test_lvs_sync_daemon_problems_name_the_line_and_no_sync_daemon_runs() -> None:
    for line, expected in (
        ("lvs_sync_daemon eth0 VI_9", "Unable to find vrrp instance VI_9 for lvs_syncd - clearing lvs_syncd config"),
        ("lvs_sync_daemon eth0 VI_1 ttl 0", "number '0' outside range [1, 255]"),
        ("lvs_sync_daemon eth0 VI_1 group 10.99.0.1", "group address 10.99.0.1 is not multicast"),
        ("lvs_sync_daemon eth0 VI_1 id 3 color red", "Unknown option color specified for lvs_sync_daemon"),
    ):
        result = config_from(f"global_defs {{\n {line}\n}}\n" + instance())
        assert only_warning(result).startswith("/etc/keepalived/keepalived.conf:2: warning: ")
        assert expected in only_warning(result)
        assert result.config.sync_daemon() is None
