"""The keepalived.conf language: each feature with the model it must produce."""

from __future__ import annotations

import ipaddress
import random

from memfs import config_from, messages

from pykeepalived.core.diagnostics import Severity, Status


def vips(result, instance: int = 0) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(v.address) for v in result.config.vrrp_instance[instance].virtual_ipaddress]


def instance_conf(body: str, name: str = "VI_1") -> str:
    return f"vrrp_instance {name} {{\n interface eth0\n virtual_router_id 51\n{body}\n}}\n"


def test_comments_anywhere_outside_quotes() -> None:
    result = config_from(
        "! a comment\n# another\nglobal_defs { # trailing\n router_id r1 ! here too\n"
        ' notification_email_from "a#b!c@example.org"\n}\n'
    )
    assert result.diagnostics == ()
    assert result.config.global_defs.router_id == "r1"
    assert result.config.global_defs.notification_email_from == "a#b!c@example.org"


def test_escaped_comment_characters_are_literal() -> None:
    result = config_from("global_defs {\n router_id r\\#1\n}\n")
    assert result.config.global_defs.router_id == "r#1"


def test_quoted_string_is_one_word() -> None:
    result = config_from('vrrp_script chk {\n script "/bin/check --port 80"\n}\n')
    assert result.config.vrrp_script[0].script == "/bin/check --port 80"


def test_unmatched_quote_is_reported() -> None:
    result = config_from('global_defs {\n router_id "r1\n}\n')
    assert any("Unmatched quote" in m and ":2:" in m for m in messages(result))


def test_brace_on_next_line_and_one_line_blocks() -> None:
    result = config_from(
        "vrrp_instance VI_1\n{\n interface eth0\n virtual_router_id 7\n"
        " virtual_ipaddress { 10.99.1.1/24 }\n"
        " track_interface { eth1 weight 5 }\n}\n"
    )
    assert result.diagnostics == ()
    instance = result.config.vrrp_instance[0]
    assert instance.virtual_router_id == 7
    assert [str(v.address) for v in instance.virtual_ipaddress] == ["10.99.1.1/24"]
    assert instance.track_interface[0].name == "eth1"
    assert instance.track_interface[0].weight == 5


def test_one_address_per_line() -> None:
    result = config_from(instance_conf(" virtual_ipaddress { 10.99.1.1/24 10.99.1.2 }"))
    assert messages(result)[0] == (
        "/etc/keepalived/keepalived.conf:4: warning: unknown option '10.99.1.2' for ip address 10.99.1.1/24 "
        "(one address per line)"
    )


def test_one_line_value_block_with_several_values_per_line() -> None:
    result = config_from(
        instance_conf(" virtual_ipaddress {\n 10.99.1.1\n}\n", "VI_1")
        + instance_conf(" virtual_ipaddress {\n 10.99.1.2\n}\n", "VI_2").replace("51", "52")
        + "vrrp_sync_group G { group { VI_1 VI_2 } }\n"
    )
    assert result.diagnostics == ()
    assert result.config.vrrp_sync_group[0].members == ("VI_1", "VI_2")


def test_virtual_ipaddress_options() -> None:
    result = config_from(
        instance_conf(" virtual_ipaddress {\n  10.99.1.1/24 brd 10.99.1.255 dev eth0 label eth0:vip scope global\n }")
    )
    assert result.diagnostics == ()
    vip = result.config.vrrp_instance[0].virtual_ipaddress[0]
    assert vip.address == ipaddress.ip_interface("10.99.1.1/24")
    assert (vip.dev, vip.label, vip.scope, str(vip.broadcast)) == ("eth0", "eth0:vip", "global", "10.99.1.255")


def test_include_glob_relative_to_including_file_and_braces() -> None:
    files = {
        "/etc/keepalived/conf.d/a.conf": "include ../inc/{x,y}.conf\n",
        "/etc/keepalived/inc/x.conf": "vrrp_script x {\n script /bin/true\n}\n",
        "/etc/keepalived/inc/y.conf": "vrrp_script y {\n script /bin/false\n}\n",
        "/etc/keepalived/conf.d/b.conf": "vrrp_script b {\n script /bin/b\n}\n",
    }
    result = config_from("include conf.d/*.conf\n", files)
    assert result.diagnostics == ()
    assert [s.name for s in result.config.vrrp_script] == ["x", "y", "b"]
    assert result.config.vrrp_script[1].where.file == "/etc/keepalived/inc/y.conf"
    assert result.config.vrrp_script[1].where.line == 1


def test_missing_include_is_a_notice_unless_include_check() -> None:
    plain = config_from("include /etc/keepalived/nothere.conf\n")
    assert plain.worst == Severity.NOTICE
    checked = config_from("global_defs {\n include_check\n}\ninclude /etc/keepalived/nothere.conf\n")
    assert checked.worst == Severity.ERROR
    assert any("Config files missing" in m and "keepalived.conf:4:" in m for m in messages(checked))
    strict_variant = config_from("includea /etc/keepalived/d/*.conf\n")
    assert strict_variant.worst == Severity.ERROR


def test_include_inside_a_block() -> None:
    files = {"/etc/keepalived/vips.conf": "10.99.1.5\n10.99.1.6\n"}
    result = config_from(instance_conf(" virtual_ipaddress {\n  include vips.conf\n }"), files)
    assert result.diagnostics == ()
    assert vips(result) == ["10.99.1.5/32", "10.99.1.6/32"]


def test_conditional_lines() -> None:
    text = "global_defs {\n@main router_id main_router\n@backup router_id backup_router\n}\n" + instance_conf(
        " unicast_peer {\n@^main 10.99.0.1\n@^backup 10.99.0.2\n@^other 10.99.0.3\n }\n"
        " virtual_ipaddress {\n  10.99.1.1\n }"
    )
    main = config_from(text, config_id="main")
    assert main.config.global_defs.router_id == "main_router"
    assert [str(p.address) for p in main.config.vrrp_instance[0].unicast_peer] == ["10.99.0.2", "10.99.0.3"]
    nobody = config_from(text, config_id="elsewhere")
    assert nobody.config.global_defs.router_id is None


def test_definitions_substituted_recursively_at_use_time() -> None:
    text = "$ADDRESS_BASE=10.2.${ADDRESS_BASE_SUB}\n$ADDRESS_BASE_SUB=0\n" + instance_conf(
        " virtual_ipaddress {\n  ${ADDRESS_BASE}.100/32\n  $ADDRESS_BASE_SUB=10\n  ${ADDRESS_BASE}.100/32\n }"
    )
    result = config_from(text)
    assert result.diagnostics == ()
    assert vips(result) == ["10.2.0.100/32", "10.2.10.100/32"]


def test_definition_with_conditional() -> None:
    text = "@main $PRIORITY=240\n@backup $PRIORITY=200\n" + instance_conf(
        " priority $PRIORITY\n virtual_ipaddress {\n 10.99.1.1\n }"
    )
    assert config_from(text, config_id="main").config.vrrp_instance[0].priority == 240
    assert config_from(text, config_id="backup").config.vrrp_instance[0].priority == 200


def test_multiline_definition_man_page_example() -> None:
    text = (
        "$INSTANCE= \\\n"
        "vrrp_instance VI_${NUM} { \\\n"
        "    interface eth0 \\\n"
        "    virtual_router_id 1${NUM} \\\n"
        "    @high priority 130 \\\n"
        "    @low priority 120 \\\n"
        "    virtual_ipaddress { \\\n"
        "        10.0.${NUM}.254/24 \\\n"
        "    } \\\n"
        "}\n"
        "\n$NUM=0\n$INSTANCE\n\n$NUM=1\n$INSTANCE\n"
    )
    result = config_from(text, config_id="low")
    assert result.diagnostics == ()
    names = [(i.name, i.virtual_router_id, i.priority) for i in result.config.vrrp_instance]
    assert names == [("VI_0", 10, 120), ("VI_1", 11, 120)]
    assert vips(result, 1) == ["10.0.1.254/24"]
    # Lines from an expansion are reported at the line that used the definition.
    assert result.config.vrrp_instance[1].where.line == 16


def test_nested_multiline_definitions() -> None:
    text = (
        "$RS= \\\n"
        "real_server 192.168.${VS_NUM}.${RS_NUM} 80 { \\\n"
        "    weight ${RS_NUM} \\\n"
        "}\n"
        "$VS= \\\n"
        "virtual_server 10.0.${VS_NUM}.4 80 { \\\n"
        "    protocol TCP \\\n"
        "    lb_algo wlc \\\n"
        "    lb_kind NAT \\\n"
        "    $RS_NUM=1 \\\n"
        "    $RS \\\n"
        "    $RS_NUM=2 \\\n"
        "    $RS \\\n"
        "}\n"
        "$VS_NUM=0\n$VS\n$VS_NUM=1\n$VS\n"
    )
    result = config_from(text)
    assert result.diagnostics == ()
    servers = [
        (str(v.address), [(str(r.address), r.weight) for r in v.real_server]) for v in result.config.virtual_server
    ]
    assert servers == [
        ("10.0.0.4", [("192.168.0.1", 1), ("192.168.0.2", 2)]),
        ("10.0.1.4", [("192.168.1.1", 1), ("192.168.1.2", 2)]),
    ]


def test_predefined_definitions() -> None:
    files = {
        "/etc/keepalived/sub/x.conf": 'vrrp_script s {\n script "${_PWD}/check ${_INSTANCE} ${_HASH}"\n}\n'
        'vrrp_script e {\n script "/bin/key ${_ENV CRED_DIR}/k"\n}\n'
        'vrrp_script r {\n script "/bin/r ${_RANDOM 5 9}"\n}\n'
    }
    result = config_from(
        "include sub/x.conf\n", files, config_id="node1", env={"CRED_DIR": "/run/creds"}, rng=random.Random(1)
    )
    scripts = {s.name: s.script for s in result.config.vrrp_script}
    assert scripts["s"] == "/etc/keepalived/sub/check node1 #"
    assert scripts["e"] == "/bin/key /run/creds/k"
    assert 5 <= int(scripts["r"].split()[-1]) <= 9


def test_undefined_parameter_is_left_alone() -> None:
    result = config_from('vrrp_script s {\n script "/bin/echo $HOME ${UNDEF}"\n}\n$X=1\n')
    assert result.config.vrrp_script[0].script == "/bin/echo $HOME ${UNDEF}"


def test_seq_and_seqx() -> None:
    text = (
        "$I=vrrp_instance VI_${n} { \\\n interface eth0 \\\n virtual_router_id $n \\\n"
        " virtual_ipaddress { \\\n 10.99.1.$n \\\n } \\\n}\n"
        "~SEQ(n, 1, 3) $I\n"
    )
    result = config_from(text)
    assert result.diagnostics == ()
    assert [i.name for i in result.config.vrrp_instance] == ["VI_1", "VI_2", "VI_3"]
    assert [i.virtual_router_id for i in result.config.vrrp_instance] == [1, 2, 3]
    assert vips(result, 2) == ["10.99.1.3/32"]
    hexed = config_from(instance_conf(" virtual_ipaddress {\n  ~SEQx(h, 9, 3, 15) fd00::$h\n }"))
    assert [str(v.address.ip) for v in hexed.config.vrrp_instance[0].virtual_ipaddress] == [
        "fd00::9",
        "fd00::c",
        "fd00::f",
    ]


def test_seq_counting_down_and_nested() -> None:
    result = config_from(instance_conf(" virtual_ipaddress {\n  ~SEQ(a, 2, -1, 1) ~SEQ(b, 1, 2) 10.${a}.${b}.1\n }"))
    assert vips(result) == ["10.2.1.1/32", "10.2.2.1/32", "10.1.1.1/32", "10.1.2.1/32"]


def test_lst() -> None:
    result = config_from(
        instance_conf(
            " virtual_ipaddress {\n  ~LST({net, host}, {1, 5}, {2, 6}) 10.${net}.0.$host\n"
            "  ~LST(last, 7, 8) 10.9.9.$last\n }"
        )
    )
    assert vips(result) == ["10.1.0.5/32", "10.2.0.6/32", "10.9.9.7/32", "10.9.9.8/32"]


def test_deprecated_aliases_are_accepted_with_a_warning() -> None:
    result = config_from(
        "virtual_server 10.99.1.1 80 {\n lvs_sched wrr\n lvs_method DR\n"
        " real_server 10.99.0.21 80 {\n  HTTP_GET {\n   nb_get_retry 4\n   url {\n    path /\n"
        "    status_code 200-299\n   }\n  }\n }\n}\n"
        "vrrp_track_file tf {\n file /tmp/x\n}\n"
    )
    server = result.config.virtual_server[0]
    assert (server.lb_algo, server.lb_kind.value) == ("wrr", "DR")
    assert server.real_server[0].http_checks[0].retry == 4
    assert server.real_server[0].http_checks[0].url[0].status_code == ((200, 299),)
    assert result.config.track_file[0].name == "tf"
    deprecations = [m for m in messages(result) if "deprecated" in m]
    assert len(deprecations) == 2 and all("warning" in m for m in deprecations)
    assert result.worst == Severity.WARNING


def test_unknown_keyword_is_a_warning_with_location() -> None:
    result = config_from("global_defs {\n router_id r\n frobnicate 3\n}\n")
    assert messages(result) == ["/etc/keepalived/keepalived.conf:3: warning: Unknown keyword 'frobnicate'"]
    assert result.runnable


def test_known_but_uninterpreted_keywords_are_kept_as_written_and_said_to_have_no_effect() -> None:
    result = config_from("global_defs {\n vrrp_rx_bufs_policy MTU\n vrrp_down_timer_adverts 2\n}\n")
    assert messages(result) == [
        f"/etc/keepalived/keepalived.conf:{line}: warning: {keyword}: accepted, no effect in pykeepalived "
        "(kept as written, not interpreted)"
        for line, keyword in ((2, "vrrp_rx_bufs_policy"), (3, "vrrp_down_timer_adverts"))
    ]
    # keepalived runs them without a word: -t's exit status is not changed by them.
    assert {d.exit_status for d in result.diagnostics} == {Status.OK}
    options = {o.keyword: o.args for o in result.config.global_defs.options}
    assert options == {"vrrp_rx_bufs_policy": ("MTU",), "vrrp_down_timer_adverts": ("2",)}


def test_lvs_timeouts_are_read_as_seconds_and_bad_ones_name_the_line() -> None:
    result = config_from("global_defs {\n lvs_timeouts tcp 7200 udp 60\n}\n")
    assert result.diagnostics == ()
    assert result.config.global_defs.lvs_timeouts == (7200, 0, 60)
    for line, expected in (
        ("lvs_timeouts tcp abc", "invalid number 'abc'"),
        ("lvs_timeouts tcp 2678401", "outside range [0, 2678400]"),
        ("lvs_timeouts tcp 10 udp", "No value specified for lvs_timeout udp"),
        ("lvs_timeouts sctp 10", "Unknown option sctp specified for lvs_timeouts"),
    ):
        # keepalived reports the line and runs with the kernel's timeouts.
        bad = config_from(f"global_defs {{\n {line}\n}}\n")
        reported = messages(bad)
        assert len(reported) == 1 and reported[0].startswith("/etc/keepalived/keepalived.conf:2: warning: "), reported
        assert expected in reported[0] and reported[0].endswith(" - ignoring") and bad.runnable
        assert bad.config.global_defs.lvs_timeouts is None


def test_priority_from_state_when_unset() -> None:
    master = config_from(instance_conf(" state MASTER\n virtual_ipaddress {\n 10.99.1.1\n }"))
    assert master.config.vrrp_instance[0].effective_priority == 255
    backup = config_from(instance_conf(" virtual_ipaddress {\n 10.99.1.1\n }"))
    assert backup.config.vrrp_instance[0].effective_priority == 100
