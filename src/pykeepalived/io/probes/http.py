"""HTTP_GET and SSL_GET: every url must answer with an accepted status (and digest, if one is given)."""

from __future__ import annotations

import asyncio
import hashlib
import re
import ssl
from dataclasses import dataclass

from .base import Result, Target, close, failed, open_stream

# What is kept of a response for judging; the rest is read and dropped until the server closes.
MAX_RESPONSE = 1 << 20
DEFAULT_STATUS = ((200, 299),)


@dataclass(frozen=True)
class UrlCheck:
    path: str
    status_codes: tuple[tuple[int, int], ...] | None = None
    digest: str | None = None
    virtualhost: str | None = None
    # The body must match (or, with regex_no_match, must not match) this regular expression.
    regex: str | None = None
    regex_no_match: bool = False


def insecure_context(enable_sni: bool) -> ssl.SSLContext:
    """keepalived checks that TLS works, not who the server is: no certificate verification."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def request(url: UrlCheck, host: str, protocol: str) -> bytes:
    connection = "Connection: close\r\n" if protocol != "1.0C" else ""
    version = "1.1" if protocol == "1.1" else "1.0"
    return (
        f"GET {url.path} HTTP/{version}\r\nUser-Agent: KeepAliveClient\r\nHost: {host}\r\n{connection}\r\n"
    ).encode()


def judge(response: bytes, url: UrlCheck) -> Result:
    """Check a whole response against the url's status codes and digest."""
    head, separator, body = response.partition(b"\r\n\r\n")
    if not separator:
        return failed("incomplete HTTP response")
    status_line = head.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or not status_line[0].startswith(b"HTTP/") or not status_line[1].isdigit():
        return failed(f"not an HTTP response: {head[:40]!r}")
    status = int(status_line[1])
    if not any(low <= status <= high for low, high in url.status_codes or DEFAULT_STATUS):
        return failed(f"HTTP status code {status}")
    if url.regex is not None and (re.search(url.regex.encode(), body) is None) != url.regex_no_match:
        return failed(f"regex {url.regex!r} {'matched' if url.regex_no_match else 'did not match'}")
    if url.digest is not None:
        digest = hashlib.md5(body).hexdigest()
        if digest != url.digest:
            return failed(f"MD5 digest error: {digest}")
    return Result(True, f"HTTP status code {status}")


def response_complete(response: bytes) -> bool:
    """A response with Content-Length is complete without waiting for the server to close."""
    head, separator, body = response.partition(b"\r\n\r\n")
    if not separator:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return len(body) >= int(value)
    return False


async def fetch(target: Target, url: UrlCheck, tls: ssl.SSLContext | None, host: str, protocol: str) -> Result:
    """One url, from connecting to the end of the response, within the checker's connect_timeout: a server
    that streams without end fails the check (it cannot be judged up on what it sent so far)."""
    response = b""
    try:
        async with asyncio.timeout(target.timeout):
            reader, writer = await open_stream(target, tls, host)
            try:
                writer.write(request(url, host, protocol))
                while len(response) >= MAX_RESPONSE or not response_complete(response):
                    more = await reader.read(65536)
                    if not more:
                        break
                    # Past MAX_RESPONSE the rest is read and dropped until the server closes.
                    response += more[: MAX_RESPONSE - len(response)]
            finally:
                close(writer)
    except TimeoutError:
        return failed("timeout" if not response else "timeout reading the response")
    except (OSError, ssl.SSLError) as error:
        return failed(str(error))
    return judge(response, url)


async def check(
    target: Target,
    urls: tuple[UrlCheck, ...],
    tls: bool,
    virtualhost: str | None = None,
    enable_sni: bool = False,
    protocol: str = "1.0",
) -> Result:
    context = insecure_context(enable_sni) if tls else None
    last = Result(True)
    for url in urls or (UrlCheck("/"),):
        host = url.virtualhost or virtualhost or target.address
        last = await fetch(target, url, context, host, protocol)
        if not last.ok:
            return Result(False, f"url {url.path}: {last.detail}")
    return last
