"""The documents that describe the code agree with it."""

from __future__ import annotations

from pathlib import Path

from pykeepalived.config.keywords import keyword_reference
from pykeepalived.vrrp.instance import TRANSITIONS, State, state_diagram

ARCHITECTURE = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def test_the_architecture_page_holds_the_engines_state_diagram() -> None:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    start = text.index("```mermaid\n") + len("```mermaid\n")
    assert text[start : text.index("```", start)] == state_diagram()


def test_every_state_is_reachable_and_stop_is_final() -> None:
    reachable = {State.INIT}
    for (_, _), transition in TRANSITIONS.items():
        reachable |= transition.to
    assert reachable == set(State)
    assert all(not transition.to for (state, _), transition in TRANSITIONS.items() if state is State.STOP)


def test_the_keyword_reference_comes_from_the_keyword_tables() -> None:
    lines = keyword_reference()
    assert "vrrp_instance  block VrrpInstance; repeatable" in lines
    assert any(line.strip().startswith("priority  integer") for line in lines)
    assert "            nb_get_retry  deprecated: use retry" in lines
    assert any("accepted, no effect in pykeepalived (kept as written, not interpreted)" in line for line in lines)
