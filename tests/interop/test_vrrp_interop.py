"""Debian's keepalived and pykeepalived in one VRRP group, measured by ../shared/tools/vrrp_lab.py.

Each scenario runs both ways round (keepalived as r1, then pykeepalived as r1; v2 AH with pykeepalived as r1
only): start, failover on SIGKILL, preemption back, graceful stop with a priority-0 advert, nopreempt. tshark
checks our adverts (AH adverts are IP protocol 51, which the lab's tshark check does not cover).
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

LAB_TOOL = Path(__file__).resolve().parents[3] / "shared" / "tools" / "vrrp_lab.py"
KEEPALIVED = "keepalived -n -l -G -P -f {conf} -p {pidfile} -r {vrrp_pidfile}"
PYKEEPALIVED = f"{sys.executable} -m pykeepalived.cli.daemon -n -l -G -P -f {{conf}} -p {{pidfile}} -r {{vrrp_pidfile}}"

AH_BLOCK = "authentication {\n        auth_type AH\n        auth_pass secret12\n    }"
SCENARIOS = {
    "v2-pass": ["--version", "2", "--advert-int", "1", "--auth-pass", "s3cret"],
    "v2-ah": ["--version", "2", "--advert-int", "1", "--extra-instance", AH_BLOCK],
    "v3-multicast": ["--version", "3", "--advert-int", "0.1"],
    "v3-unicast": ["--version", "3", "--advert-int", "0.1", "--unicast"],
}


def lab(command: str, *arguments: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    assert LAB_TOOL.exists(), f"the shared lab tool is missing: {LAB_TOOL}"
    prefix = f"pi{secrets.token_hex(2)}"
    return subprocess.run(
        [sys.executable, str(LAB_TOOL), command, "--prefix", prefix, *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# Both ways round, but AH one way only: in it each daemon signs adverts the other checks (r1's, then r2's while
# r1 is down, then r1's again), and v2 at advert_int 1 costs 37 s a run.
WAYS_ROUND = [(scenario, first) for scenario in SCENARIOS for first in ("keepalived", "pykeepalived")
              if (scenario, first) != ("v2-ah", "keepalived")]  # fmt: skip


@pytest.mark.parametrize(("scenario", "first"), WAYS_ROUND)
def test_mixed_group_elects_fails_over_and_fails_back(scenario: str, first: str) -> None:
    assert shutil.which("keepalived"), "Debian's keepalived must be installed (the README's test command does it)"
    daemons = f"{KEEPALIVED};;{PYKEEPALIVED}" if first == "keepalived" else f"{PYKEEPALIVED};;{KEEPALIVED}"
    result = lab("interop", *SCENARIOS[scenario], "--daemons", daemons)
    steps = [line for line in result.stdout.splitlines() if line.startswith(("PASS", "FAIL"))]
    assert result.returncode == 0 and "interop: 5/5 steps passed" in result.stdout, "\n".join(
        [*steps, result.stdout[-3000:], result.stderr[-3000:]]
    )


@pytest.mark.parametrize("scenario", ["v2-pass", "v3-multicast", "v3-unicast"])
def test_tshark_decodes_our_adverts_without_warnings(scenario: str, tmp_path: Path) -> None:
    assert shutil.which("tshark"), "tshark must be installed (the README's test command does it)"
    out = tmp_path / "capture.json"
    result = lab("capture", *SCENARIOS[scenario], "--count", "4", "--daemon", PYKEEPALIVED,
                 "--pcap", str(tmp_path / "adverts.pcap"), "--out", str(out))  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    last = result.stdout.strip().splitlines()[-1]
    assert last.endswith(" 0 malformed"), last
    data = json.loads(out.read_text())
    assert data["tshark_unavailable"] is None and data["n_malformed"] == 0
    assert data["n_packets"] >= 8
    for packet in data["packets"]:
        assert packet["tshark_flags"] == [] and packet["lint"] == [], packet
