"""A probe that raises is a failed check, logged once with its cause; its real server leaves the table.

(A probe's exception used to end its checker for good: the server kept its last state, up, in the table.)
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from pykeepalived.config import load
from pykeepalived.daemon.check_service import CheckService
from pykeepalived.daemon.checkers import ResultCallback, Starter, on_task
from pykeepalived.io.files import FileSystem
from pykeepalived.io.probes.base import Result
from pykeepalived.lb.dataplane import MemoryPlane

CONFIG = """virtual_server 10.99.1.1 80 {
    lb_algo rr
    real_server 10.99.0.21 80 {
        TCP_CHECK {
            delay_loop 0.1
            retry 0
        }
    }
    real_server 10.99.0.22 80 {
        TCP_CHECK {
            delay_loop 0.1
            retry 0
        }
    }
}
"""


def raises_at_once(done: ResultCallback) -> None:
    raise RuntimeError("a bug in a callback probe")


async def coroutine_that_raises() -> Result:
    raise RuntimeError("a bug in a coroutine probe")


def succeeds(done: ResultCallback) -> None:
    asyncio.get_running_loop().call_soon(done, Result(True))


@pytest.mark.parametrize(
    ("broken", "message"),
    [(raises_at_once, "a bug in a callback probe"), (on_task(coroutine_that_raises), "a bug in a coroutine probe")],
    ids=["callback", "coroutine"],
)
def test_a_probe_that_raises_is_a_failed_check(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, broken: Starter, message: str
) -> None:
    path = tmp_path / "keepalived.conf"
    path.write_text(CONFIG)
    config = load(str(path), FileSystem(), "test", None).config
    assert config is not None
    backend = MemoryPlane()
    logger = logging.getLogger("test-probe-errors")

    async def scenario() -> list[str]:
        service = CheckService(config, logger, backend)
        failing, healthy = service.runs
        failing.start = broken
        healthy.start = succeeds
        service.start()
        await asyncio.sleep(1.0)
        members = [str(key.address) for table in backend.read().values() for key in table.members()]
        await service.stop()
        return members

    with caplog.at_level(logging.INFO, logger="test-probe-errors"):
        members = asyncio.run(scenario())
    assert members == ["10.99.0.22"]
    raised = [r for r in caplog.records if r.exc_info is not None]
    assert len(raised) == 1, "logged once, with its traceback"
    assert f"the probe raised RuntimeError: {message}" in raised[0].getMessage()
