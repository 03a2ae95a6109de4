"""TCP_CHECK: a connection that opens is a success."""

from __future__ import annotations

from .base import Result, Target, close, failed, open_stream


async def check(target: Target) -> Result:
    try:
        _, writer = await open_stream(target)
    except TimeoutError:
        return failed("timeout")
    except OSError as error:
        return failed(error.strerror or str(error))
    close(writer)
    return Result(True)
