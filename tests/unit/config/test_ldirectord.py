"""ldirectord.cf to keepalived.conf: the shared sample and each mapping."""

from __future__ import annotations

from pathlib import Path

from memfs import config_from

from pykeepalived.config.ldirectord import convert

SAMPLE = Path(__file__).resolve().parents[4] / "shared" / "corpus" / "ldirectord-samples" / "ldirectord.cf"


def test_the_shared_sample_converts_to_a_config_we_accept() -> None:
    text, problems = convert(SAMPLE.read_text(), "ldirectord.cf")
    result = config_from(text)
    assert result.diagnostics == ()
    server = result.config.virtual_server[0]
    assert (str(server.address), server.port, server.lb_algo, server.lb_kind.value) == ("192.168.6.240", 80, "rr", "DR")
    assert server.sorry_server is not None and str(server.sorry_server[0]) == "127.0.0.1"
    assert [str(r.address) for r in server.real_server] == ["192.168.6.2", "192.168.6.3", "192.168.6.6"]
    check = server.real_server[0].http_checks[0]
    assert (check.url[0].path, check.url[0].regex, check.virtualhost) == ("/index.html", "Test Page", "www.x.y.z")
    assert [str(p.where) for p in problems] == []


def test_checktypes_quiescent_fwmark_and_email() -> None:
    text, problems = convert(
        "checktimeout=2\nemailalert=ops@example.org\nquiescent=yes\n"
        "virtual=10.0.0.1:25\n\treal=10.0.0.2:25 masq 3\n\tservice=smtp\n\tchecktype=negotiate\n"
        "virtual=7\n\treal=10.0.0.3 gate\n\tchecktype=ping\n\tprotocol=fwm\n"
        "virtual=10.0.0.1:53\n\treal=10.0.0.4:53 ipip\n\tchecktype=external\n\tcheckcommand=/usr/local/bin/chk\n"
        "\tprotocol=udp\n\tbogus=1\n"
    )
    result = config_from(text)
    assert result.diagnostics == ()
    smtp, fwmark, dns = result.config.virtual_server
    assert smtp.real_server[0].smtp_checks and smtp.real_server[0].weight == 3 and smtp.lb_kind.value == "NAT"
    assert smtp.real_server[0].inhibit_on_failure
    assert fwmark.fwmark == 7 and fwmark.real_server[0].ping_checks
    assert dns.real_server[0].misc_checks[0].misc_path == "/usr/local/bin/chk 10.0.0.1 53 10.0.0.4 53"
    assert result.config.global_defs.notification_email == ("ops@example.org",)
    assert [(p.where.line if p.where else 0, "bogus" in p.message) for p in problems] == [(17, True)]
