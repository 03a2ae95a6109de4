"""`pykeepalivedctl lint`: the seed example with its weight mistake and its fix, the JSON form, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pykeepalived.cli import ctl

EXAMPLE = Path(__file__).parents[3] / "examples" / "keepalived.conf"


def test_the_example_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert ctl.main(["lint", str(EXAMPLE), "--nodes", "lb1,lb2"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].endswith(": PASS")
    assert "script chk_nginx fails on lb1" in out


def test_the_example_with_its_old_weight_fails_and_says_what_weight_would_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "keepalived.conf"
    old.write_text(EXAMPLE.read_text().replace("weight -60", "weight -20"))
    assert ctl.main(["lint", str(old), "--nodes", "lb1,lb2"]) == 1
    out = capsys.readouterr().out
    assert "error [weight] (VI_WEB) script chk_nginx fails on lb1: lb1 150-20=130 still >= lb2 100" in out
    assert "weight must be < -50" in out
    assert any(line.startswith("FAIL  script chk_nginx fails on lb1") for line in out.splitlines())


def test_json_and_one_file_per_node(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = []
    for node in ("lb1", "lb2"):
        path = tmp_path / f"{node}.conf"
        path.write_text(EXAMPLE.read_text())
        paths.append(str(path))
    assert ctl.main(["lint", *paths, "-i", "lb1", "-i", "lb2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert [n["name"] for n in report["nodes"]] == ["lb1", "lb2"]
    start = report["scenarios"][0]
    assert start["phase"] == "start-up" and start["routers"][0]["observed"] == ["lb1"]


def test_the_timeline_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    picture = tmp_path / "t.png"
    arguments = ["lint", str(EXAMPLE), "--nodes", "lb1,lb2", "--timeline", "lb1 powered off", "--png", str(picture)]
    assert ctl.main(arguments) == 0
    assert picture.read_bytes()[:4] == b"\x89PNG"


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert ctl.main(["lint", str(EXAMPLE)]) == 4
    assert ctl.main(["lint", str(EXAMPLE), str(EXAMPLE), "-i", "lb1"]) == 4
    assert ctl.main(["lint", str(tmp_path / "missing.conf"), str(EXAMPLE)]) == 4
    err = capsys.readouterr().err
    assert "a cluster needs at least two nodes" in err and "give one -i per file" in err
