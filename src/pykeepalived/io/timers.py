"""Precise timers for the asyncio loop, on a Linux timerfd.

asyncio sleeps in epoll_wait, whose timeout the kernel rounds to milliseconds and lets slip by 0.1 %
(3.6 ms on a VRRPv2 master-down timer). A timerfd armed with an absolute CLOCK_MONOTONIC deadline
fires within microseconds, as keepalived's own scheduler does.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import heapq
import itertools
import os
import time
from collections.abc import Callable

CLOCK_MONOTONIC = 1
TFD_NONBLOCK = 0o4000
TFD_CLOEXEC = 0o2000000
TFD_TIMER_ABSTIME = 1


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.timerfd_create.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.timerfd_settime.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.POINTER(_Itimerspec), ctypes.c_void_p]


class TimerHandle:
    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class PreciseTimers:
    """call_at() with microsecond accuracy; deadlines are on time.monotonic()'s clock (= loop.time())."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        if time.get_clock_info("monotonic").implementation != "clock_gettime(CLOCK_MONOTONIC)":
            raise RuntimeError("precise timers need time.monotonic() on CLOCK_MONOTONIC")
        self.loop = loop
        self.fd = _libc.timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "timerfd_create failed")
        self._heap: list[tuple[float, int, TimerHandle]] = []
        self._order = itertools.count()
        self._armed_for: float | None = None
        # One reusable argument for timerfd_settime: this runs for every advert of every instance.
        self._spec = _Itimerspec()
        self._spec_ref = ctypes.byref(self._spec)
        loop.add_reader(self.fd, self._fire)

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        handle = TimerHandle(when, callback)
        heapq.heappush(self._heap, (when, next(self._order), handle))
        if self._armed_for is None or when < self._armed_for:
            self._arm(when)
        return handle

    def _arm(self, when: float) -> None:
        self._armed_for = when
        seconds = max(when, 1e-6)
        value = self._spec.it_value
        value.tv_sec = int(seconds)
        value.tv_nsec = round((seconds % 1) * 1e9) or 1
        if _libc.timerfd_settime(self.fd, TFD_TIMER_ABSTIME, self._spec_ref, None) != 0:
            raise OSError(ctypes.get_errno(), "timerfd_settime failed")

    def _fire(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.read(self.fd, 8)
        self._armed_for = None
        now = time.monotonic()
        while self._heap and self._heap[0][0] <= now:
            _, _, handle = heapq.heappop(self._heap)
            if not handle.cancelled:
                handle.callback()
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)
        if self._heap:
            self._arm(self._heap[0][0])

    def close(self) -> None:
        self.loop.remove_reader(self.fd)
        os.close(self.fd)
