"""Debian's keepalived 2.2.7 as the oracle for --config-test, on the shared corpus (keepalived's samples)
and on tests/interop/corpus (configurations as public deployments generate them; its README names each
source).

For each file: our `-t` exits with keepalived's status (0, 4, 5, 6 or 2), every message keepalived
prints appears in ours at the same line, in keepalived's words (ours may add the value used), and where
keepalived says it corrects something, `dump-config --json` holds the corrected value.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pykeepalived.cli.common import checked_file, config_test_exit_code
from pykeepalived.config.dump import dump_config

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
CORPUS_FILES = sorted(p for p in CORPUS.glob("*/*") if p.is_file())
DEPLOYMENTS = Path(__file__).resolve().parent / "corpus"
DEPLOYMENT_FILES = sorted(DEPLOYMENTS.glob("*.conf"))
KEEPALIVED = shutil.which("keepalived") or "/usr/sbin/keepalived"
LINE_PREFIX = re.compile(r"^\((?:(?P<file>.+?): )?Line (?P<line>\d+)\) (?P<text>.*)$")


@dataclass(frozen=True)
class OracleMessage:
    line: int | None
    text: str


def keepalived_config_test(path: Path) -> tuple[int, set[OracleMessage]]:
    # -t only parses and checks; it never starts the daemon.
    run = subprocess.run([KEEPALIVED, "-t", "-l", "-f", str(path)], capture_output=True, text=True, timeout=60)
    found: set[OracleMessage] = set()
    for raw in (run.stdout + run.stderr).splitlines():
        match = LINE_PREFIX.match(raw)
        if match:
            found.add(OracleMessage(int(match["line"]), match["text"].strip()))
        elif raw.strip():
            found.add(OracleMessage(None, raw.strip()))
    return run.returncode, found


Data = dict[str, Any]


def _instance(data: Data, name: str) -> Data:
    return next(i for i in data.get("vrrp_instance", []) if i["name"] == name)


def _tracked(data: Data, name: str, kind: str) -> list[str]:
    return [t["name"] for t in _instance(data, name).get(kind, [])]


def _addresses(data: Data, name: str) -> list[str]:
    return [a["address"] for a in _instance(data, name).get("virtual_ipaddress", [])]


def _ipv6_scopes(data: Data, address: str) -> list[Any]:
    found = []
    for instance in data.get("vrrp_instance", []):
        for vip in instance.get("virtual_ipaddress", []) + instance.get("virtual_ipaddress_excluded", []):
            if vip["address"] == address:
                found.append(vip.get("scope"))
    return found


def _fwmark_ports(data: Data, mark: str, address: str) -> list[int]:
    return [
        real["port"]
        for server in data.get("virtual_server", [])
        if str(server.get("fwmark")) == mark
        for real in server.get("real_server", [])
        if real["address"] == address
    ]


# What keepalived says it corrects, and what the model must then hold: (its words, the check of our dump).
CORRECTIONS: list[tuple[re.Pattern[str], Callable[[Data, re.Match[str]], bool]]] = [
    (
        re.compile(r"^\((?P<i>[^)]+)\) Warning - nopreempt will not work"),
        lambda d, m: _instance(d, m["i"])["nopreempt"] is False,
    ),
    (
        re.compile(r"^\((?P<i>[^)]+)\) Warning - preempt delay will not work"),
        lambda d, m: _instance(d, m["i"])["preempt_delay"] == 0,
    ),
    (
        re.compile(r"^\((?P<i>[^)]+)\) (VRRP version 3|Strict mode) does not support authentication"),
        lambda d, m: "authentication" not in _instance(d, m["i"]),
    ),
    (
        re.compile(r"^\((?P<i>[^)]+)\) VRRPv2 advertisement interval .* rounding"),
        lambda d, m: float(_instance(d, m["i"])["advert_int"]).is_integer(),
    ),
    (
        re.compile(r"^\((?P<i>[^)]+)\) Initial state master is incompatible with AH"),
        lambda d, m: _instance(d, m["i"])["resolved"]["state"] == "BACKUP",
    ),
    (
        re.compile(r"^\((?P<i>[^)]+)\) Priority not valid! .* Using default (?P<p>\d+)"),
        lambda d, m: _instance(d, m["i"])["resolved"]["priority"] == int(m["p"]),
    ),
    (
        re.compile(r"^Disabling track script (?P<s>\S+)"),
        lambda d, m: all(m["s"] not in _tracked(d, i["name"], "track_script") for i in d.get("vrrp_instance", [])),
    ),
    (
        re.compile(r"^\((?P<i>[^)]+)\) track script (?P<s>\S+) not found"),
        lambda d, m: m["s"] not in _tracked(d, m["i"], "track_script"),
    ),
    (
        re.compile(r"^\((?P<i>[^)]+)\) Ignoring track_interface (?P<t>\S+) since own interface"),
        lambda d, m: m["t"] not in _tracked(d, m["i"], "track_interface"),
    ),
    (
        re.compile(r"^\((?P<i>[^)]+)\): address family must match VRRP instance \[(?P<a>[^\]]+)\]"),
        lambda d, m: m["a"] not in _addresses(d, m["i"]),
    ),
    (
        re.compile(r"^Cannot specify scope for IPv6 addresses \((?P<a>[^)]+)\)"),
        lambda d, m: _ipv6_scopes(d, m["a"]) == [None],
    ),
    (
        re.compile(r"^\((?P<i>[^)]+)\): Cannot use unicast_ttl without unicast peers"),
        lambda d, m: "unicast_ttl" not in _instance(d, m["i"]),
    ),
    (
        re.compile(r"^Virtual router (?P<r>\S+) specified in sync group (?P<g>\S+) doesn't exist"),
        lambda d, m: all(
            m["r"] not in [name for line in g["group"] for name in line]
            for g in d.get("vrrp_sync_group", [])
            if g["name"] == m["g"]
        ),
    ),
    (
        re.compile(r"no scheduler set, setting default '(?P<s>\w+)'"),
        lambda d, m: all("lb_algo" in v for v in d.get("virtual_server", [])),
    ),
    (
        re.compile(r"^WARNING - fwmark virtual server FWM (?P<f>\d+), real server \[(?P<a>[^\]]+)\]:none:\d+"),
        lambda d, m: _fwmark_ports(d, m["f"], m["a"]) == [0],
    ),
    (
        re.compile(r"^VRRP parsed invalid IP (?P<a>\S+)\. skipping IP"),
        lambda d, m: f'"{m["a"]}"' not in json.dumps(d),
    ),
]


def test_corpus_is_present() -> None:
    assert len(CORPUS_FILES) >= 20, f"expected the shared corpus at {CORPUS}"
    assert len(DEPLOYMENT_FILES) >= 30, f"expected the deployments' corpus at {DEPLOYMENTS}"
    sources = (DEPLOYMENTS / "README.md").read_text()
    assert all(f"| {p.name} |" in sources for p in DEPLOYMENT_FILES), "every corpus file names its source"
    assert Path(KEEPALIVED).exists(), "Debian's keepalived must be installed (the README's test command does it)"


@pytest.mark.oracle
@pytest.mark.parametrize("path", CORPUS_FILES + DEPLOYMENT_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_same_exit_status_and_lines_as_keepalived(path: Path) -> None:
    oracle_code, oracle_messages = keepalived_config_test(path)
    result = checked_file(str(path), None)
    ours = [(d.where.line if d.where else None, d.message) for d in result.diagnostics]
    assert config_test_exit_code(result) == oracle_code, (oracle_code, oracle_messages, ours)
    if result.config is not None:
        data = json.loads(json.dumps(dump_config(result.config)))
        for expected in oracle_messages:
            for pattern, holds in CORRECTIONS:
                match = pattern.search(expected.text)
                if match:
                    assert holds(data, match), f"keepalived said {expected}; our model does not hold that"
    for expected in oracle_messages:
        if expected.line is None:
            hit = any(expected.text in text for _, text in ours)
        else:
            hit = any(line == expected.line and expected.text in text for line, text in ours)
        assert hit, f"keepalived said {expected} and we did not (we said {ours})"


def test_converted_ldirectord_sample_passes_keepalived(tmp_path: Path) -> None:
    from pykeepalived.config.ldirectord import convert

    sample = CORPUS / "ldirectord-samples" / "ldirectord.cf"
    text, _ = convert(sample.read_text(), str(sample))
    converted = tmp_path / "keepalived.conf"
    converted.write_text(text)
    code, messages = keepalived_config_test(converted)
    assert (code, messages) == (0, set())
