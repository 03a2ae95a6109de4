"""SMTP_CHECK: the server greets, answers HELO, and lets us QUIT (with aiosmtplib)."""

from __future__ import annotations

import aiosmtplib

from .base import Result, Target, failed


async def check(target: Target, helo_name: str) -> Result:
    client = aiosmtplib.SMTP(
        hostname=target.address,
        port=target.port,
        timeout=target.timeout,
        local_hostname=helo_name,
        source_address=target.local,
        start_tls=False,
    )
    try:
        await client.connect()
        response = await client.helo(hostname=helo_name)
        await client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
        return failed(str(error) or type(error).__name__)
    return Result(response.code == 250, f"HELO answered {response.code} {response.message}")
