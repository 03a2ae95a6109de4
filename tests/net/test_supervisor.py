"""The parent's respawn policy: at once the first time, backing off while a child keeps dying, afresh after a
child ran stably."""

from __future__ import annotations

import asyncio
import itertools
import logging
import sys

import pytest

from pykeepalived.daemon import supervisor
from pykeepalived.daemon.supervisor import ChildSpec, Supervisor


def spawn_times(child_code: str, seconds: float) -> list[float]:
    """When a child running `child_code` was started, over `seconds`."""
    logger = logging.getLogger("test-supervisor")

    async def scenario() -> list[float]:
        parent = Supervisor([ChildSpec("test", [sys.executable, "-c", child_code])], logger, respawn=True)
        loop = asyncio.get_running_loop()
        started = loop.time()
        times: list[float] = []
        spawn = parent._spawn

        async def recorded(child: ChildSpec) -> asyncio.subprocess.Process:
            times.append(loop.time() - started)
            return await spawn(child)

        parent._spawn = recorded  # type: ignore[method-assign]
        loop.call_later(seconds, parent.stopping.set)
        await parent.run()
        return times

    return asyncio.run(scenario())


def test_a_dying_child_is_restarted_at_once_then_with_backoff() -> None:
    times = spawn_times("raise SystemExit(3)", 2.5)
    # Started, restarted at once, then after 0.5 s and 1 s (plus each child's start-up).
    assert 3 <= len(times) <= 4, times
    assert times[1] - times[0] < 0.3
    assert times[2] - times[1] >= 0.5


def test_the_backoff_starts_afresh_after_a_stable_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervisor, "STABLE_SECONDS", 0.2)
    times = spawn_times("import time; time.sleep(0.3); raise SystemExit(3)", 2.5)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # Every child ran 0.3 s (stable): each is restarted at once, never after a pause.
    assert len(times) >= 5, times
    assert max(gaps) < 0.6, gaps
