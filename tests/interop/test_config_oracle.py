"""Debian's keepalived 2.2.7 as the oracle for --config-test, on the shared corpus (keepalived's samples)
and on tests/interop/corpus (configurations as public deployments generate them; its README names each
source).

For each file: our `-t` exits with keepalived's status (0, 4, 5, 6 or 2), and every message keepalived
prints appears in ours at the same line, in keepalived's words (ours may add the value used).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from pykeepalived.cli.common import checked_file, config_test_exit_code

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
