"""DNS_CHECK: the server answers a query of `type` for `name` with at least one record (dnspython)."""

from __future__ import annotations

import dns.asyncquery
import dns.exception
import dns.message
import dns.rcode

from .base import Result, Target, failed


async def check(target: Target, record_type: str, name: str) -> Result:
    query = dns.message.make_query(name, record_type)
    try:
        answer = await dns.asyncquery.udp(
            query, target.address, timeout=target.timeout, port=target.port, source=target.bind_address
        )
    except (dns.exception.DNSException, OSError) as error:
        return failed(str(error) or type(error).__name__)
    if answer.rcode() != dns.rcode.NOERROR:
        return failed(f"rcode {dns.rcode.to_text(answer.rcode())}")
    if not answer.answer:
        return failed(f"no {record_type} record for {name}")
    return Result(True)
