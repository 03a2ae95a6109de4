"""Entering a named network namespace (keepalived's -s / net_namespace), as `ip netns exec` does.

Python 3.11 has no os.setns nor os.unshare: they come from libc. The process also gets its own mount namespace
with a fresh /sys, so /sys/class/net shows the namespace's interfaces (ip netns exec's remount); mounts made
there never reach the machine's (the root is made a slave first).
"""

from __future__ import annotations

import ctypes
import os

NETNS_DIRECTORY = "/run/netns"
CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_REC = 0x4000
MS_SLAVE = 1 << 19
MNT_DETACH = 2


class NamespaceError(OSError):
    pass


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        number = ctypes.get_errno()
        raise NamespaceError(number, f"{what}: {os.strerror(number)}")


def enter_network_namespace(name: str) -> None:
    """Move this process (and the children it starts from now on) into /run/netns/NAME."""
    path = os.path.join(NETNS_DIRECTORY, name)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as error:
        raise NamespaceError(error.errno, f"Failed to open {path}: {error.strerror}") from None
    libc = _libc()
    try:
        _check(libc.setns(fd, CLONE_NEWNET), f"setns() to {path}")
    finally:
        os.close(fd)
    _check(libc.unshare(CLONE_NEWNS), "unshare of the mount namespace")
    _check(libc.mount(b"", b"/", None, MS_REC | MS_SLAVE, None), "making / a slave mount")
    # A /sys mounted from the namespace lists its interfaces; without one (a container), keep what there is.
    if libc.umount2(b"/sys", MNT_DETACH) == 0:
        _check(libc.mount(name.encode(), b"/sys", b"sysfs", 0, None), "mounting /sys")
