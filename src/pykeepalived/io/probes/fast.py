"""TCP_CHECK and plain HTTP_GET driven by callbacks on non-blocking sockets, for many checks per second.

No task and no stream objects per check: a socket, one reader or writer callback and one timer. The
connection is reset on close (SO_LINGER 0) so thousands of checks a second leave no TIME_WAIT behind.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import struct
from collections.abc import Callable

from .base import Result, Target, failed
from .http import MAX_RESPONSE, UrlCheck, judge, request, response_complete

ResultCallback = Callable[[Result], None]
RESET_ON_CLOSE = struct.pack("ii", 1, 0)


class _Attempt:
    def __init__(self, loop: asyncio.AbstractEventLoop, target: Target, done: ResultCallback) -> None:
        self.loop = loop
        self.target = target
        self.done = done
        self.finished = False

    def connect(self) -> None:
        try:
            self.sock = socket.socket(self.target.family, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
        except OSError as error:
            # Out of file descriptors, say: this check fails, the process goes on.
            self.finished = True
            self.done(failed(error.strerror or str(error)))
            return
        self.fd = self.sock.fileno()
        self.timer = self.loop.call_later(self.target.timeout, self._timeout)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
            if self.target.local is not None:
                self.sock.bind(self.target.local)
            code = self.sock.connect_ex((self.target.address, self.target.port))
        except OSError as error:
            self.finish(failed(error.strerror or str(error)))
            return
        if code == 0:
            self.connected()
        elif code == errno.EINPROGRESS:
            self.loop.add_writer(self.fd, self._writable)
        else:
            self.finish(failed(errno.errorcode.get(code, str(code))))

    def _writable(self) -> None:
        self.loop.remove_writer(self.fd)
        code = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            self.finish(failed(errno.errorcode.get(code, str(code))))
        else:
            self.connected()

    def connected(self) -> None:
        self.finish(Result(True))

    def _timeout(self) -> None:
        self.finish(failed("timeout"))

    def finish(self, result: Result) -> None:
        if self.finished:
            return
        self.finished = True
        self.timer.cancel()
        self.loop.remove_writer(self.fd)
        self.loop.remove_reader(self.fd)
        self.sock.close()
        self.done(result)


class _HttpAttempt(_Attempt):
    def __init__(self, loop: asyncio.AbstractEventLoop, target: Target, url: UrlCheck, host: str,
                 protocol: str, done: ResultCallback) -> None:  # fmt: skip
        super().__init__(loop, target, done)
        self.url = url
        self.request = request(url, host, protocol)
        self.response = bytearray()

    def connected(self) -> None:
        try:
            self.sock.send(self.request)
        except OSError as error:
            self.finish(failed(error.strerror or str(error)))
            return
        self.loop.add_reader(self.fd, self._readable)

    def _readable(self) -> None:
        try:
            chunk = self.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError as error:
            self.finish(failed(error.strerror or str(error)))
            return
        if not chunk:
            self.finish(judge(bytes(self.response), self.url))
        elif len(self.response) < MAX_RESPONSE:
            # Past MAX_RESPONSE the rest is read and dropped; the check's one timer bounds the exchange.
            self.response += chunk[: MAX_RESPONSE - len(self.response)]
            if response_complete(bytes(self.response)):
                self.finish(judge(bytes(self.response), self.url))


def tcp_check(target: Target, done: ResultCallback) -> None:
    _Attempt(asyncio.get_running_loop(), target, done).connect()


def http_check(target: Target, url: UrlCheck, host: str, protocol: str, done: ResultCallback) -> None:
    _HttpAttempt(asyncio.get_running_loop(), target, url, host, protocol, done).connect()
