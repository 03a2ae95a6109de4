"""A notify script's or an alert's task that raises is logged with its traceback, never lost; a stopping
process waits for what is under way, a bounded time."""

from __future__ import annotations

import asyncio
import logging

import pytest

from pykeepalived.daemon.background import BackgroundTasks


async def broken_alert() -> None:
    raise ConnectionRefusedError("smtp server 192.0.2.25:25")


def test_a_task_that_raises_is_logged_with_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> BackgroundTasks:
        tasks = BackgroundTasks(logging.getLogger("test"))
        tasks.start(broken_alert(), "alert 'VRRP Instance VI_1 - now MASTER'")
        await tasks.finish(1.0)
        return tasks

    tasks = asyncio.run(scenario())
    assert not tasks.running
    [record] = caplog.records
    assert record.getMessage().startswith("alert 'VRRP Instance VI_1 - now MASTER' failed: ConnectionRefusedError")
    assert record.exc_info is not None and record.exc_info[0] is ConnectionRefusedError


def test_finish_waits_for_what_ends_in_time_and_no_longer() -> None:
    async def scenario() -> tuple[bool, bool]:
        tasks = BackgroundTasks(logging.getLogger("test"))
        quick = tasks.start(asyncio.sleep(0), "notify script quick")
        # Never ends: finish() gives up on it after its timeout.
        slow = tasks.start(asyncio.Event().wait(), "notify script slow")
        await tasks.finish(0.05)
        done = (quick.done(), slow.done())
        slow.cancel()
        return done

    assert asyncio.run(scenario()) == (True, False)
