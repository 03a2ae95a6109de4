"""One direction of a relayed TCP connection moved into the kernel: splice(2) from one socket into a pipe and
from the pipe into the other socket, so bulk data never crosses into Python.

The transports keep their sockets (they still carry the other direction and close them); this works on
duplicates of their descriptors, watched by the event loop. Reading stops while the pipe cannot be emptied
into the receiving socket (back-pressure); the sender's end of file is passed on as a half-close.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
from collections.abc import Callable
from typing import Protocol

# Bytes moved per splice call, and the pipe's size: large enough that a busy connection costs few calls.
CHUNK = 1 << 20
PIPE_SIZE = 1 << 20
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
FLAGS = os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK
ROUNDS_PER_CALL = 16


class HasFileno(Protocol):
    def fileno(self) -> int: ...


class Splice:
    """Moves what `source` receives into `target` until the source's end of file or an error."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        source: HasFileno,
        target: HasFileno,
        counted: Callable[[int], None],
        finished: Callable[[bool], None],
    ) -> None:
        """`counted(n)` is told of every n bytes moved; `finished(clean)` once, at the end of file (True: the
        target has been half-closed) or on an error (False: the connection is broken)."""
        self.loop = loop
        self.counted = counted
        self.finished = finished
        self.source = os.dup(source.fileno())
        self.target = os.dup(target.fileno())
        self.pipe_out, self.pipe_in = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        with contextlib.suppress(OSError):  # a smaller pipe (fs.pipe-max-size) only costs more calls
            fcntl.fcntl(self.pipe_in, F_SETPIPE_SZ, PIPE_SIZE)
        self.in_pipe = 0
        self.at_end = False
        self.done = False
        self.waiting_to_write = False
        loop.add_reader(self.source, self._move)

    def _move(self) -> None:
        """Empty the pipe into the target, refill it from the source; a bounded number of rounds per call, so
        one fast connection cannot hold the event loop."""
        try:
            for _ in range(ROUNDS_PER_CALL):
                if self.in_pipe:
                    try:
                        sent = os.splice(self.pipe_out, self.target, self.in_pipe, flags=FLAGS)
                    except BlockingIOError:
                        self._wait_until(writable=True)
                        return
                    self.in_pipe -= sent
                    self.counted(sent)
                elif self.at_end:
                    with socket.socket(fileno=os.dup(self.target)) as target:
                        target.shutdown(socket.SHUT_WR)
                    self._finish(True)
                    return
                else:
                    try:
                        moved = os.splice(self.source, self.pipe_in, CHUNK, flags=FLAGS)
                    except BlockingIOError:
                        self._wait_until(writable=False)
                        return
                    self.at_end = moved == 0
                    self.in_pipe += moved
        except OSError:
            self._finish(False)
            return
        if self.in_pipe:
            # Out of rounds with bytes in the pipe: they must not wait for the source's next bytes.
            self._wait_until(writable=True)

    def _wait_until(self, writable: bool) -> None:
        """Watch the target (the pipe holds what it could not take yet) or the source (the pipe is empty)."""
        if writable == self.waiting_to_write:
            return
        self.waiting_to_write = writable
        if writable:
            self.loop.remove_reader(self.source)
            self.loop.add_writer(self.target, self._move)
        else:
            self.loop.remove_writer(self.target)
            self.loop.add_reader(self.source, self._move)

    def _finish(self, clean: bool) -> None:
        self.stop()
        self.finished(clean)

    def stop(self) -> None:
        """Let go of the descriptors (the transports close the sockets themselves)."""
        if self.done:
            return
        self.done = True
        self.loop.remove_reader(self.source)
        self.loop.remove_writer(self.target)
        for descriptor in (self.source, self.target, self.pipe_out, self.pipe_in):
            os.close(descriptor)
