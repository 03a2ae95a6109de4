"""Short tasks a process starts and goes on without waiting for: notify scripts, SMTP alerts, a reload's
configuration check. They stay out of the process's TaskGroup on purpose (one failing must not end the
process), but none is fire-and-forget: each is held until it ends, an exception is logged with its
traceback, and a stopping process gives them a bounded moment to finish."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class BackgroundTasks:
    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self.running: set[asyncio.Task[Any]] = set()

    def start(self, work: Coroutine[Any, Any, T], what: str) -> asyncio.Task[T]:
        task = asyncio.get_running_loop().create_task(work, name=what)
        self.running.add(task)
        task.add_done_callback(self._ended)
        return task

    def _ended(self, task: asyncio.Task[Any]) -> None:
        self.running.discard(task)
        if not task.cancelled() and (problem := task.exception()) is not None:
            self.logger.error(f"{task.get_name()} failed: {problem!r}", exc_info=problem)

    async def finish(self, timeout: float) -> None:
        """Let what is under way end, for at most `timeout` seconds."""
        if self.running:
            await asyncio.wait(self.running, timeout=timeout)
