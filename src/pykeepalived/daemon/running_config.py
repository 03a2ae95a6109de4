"""The configuration a child process runs, kept for its respawn. keepalived's respawned child goes on with the
configuration the daemon had: a file broken on disk since then (the next reload refuses it) must not take the
daemon down with a crashed child. The parent holds one anonymous memory file (memfd) per child across the
child's deaths and hands it to each (`--running-config-fd`); the child writes the configuration it runs there at
start and after each reload, and a respawned child reads it instead of the file."""

from __future__ import annotations

import os
import pickle

from ..config import without_cyclic_collection
from ..config.model import Config


def create(child: str) -> int:
    return os.memfd_create(f"pykeepalived-{child}-config")


def save(fd: int, config: Config) -> None:
    data = pickle.dumps(config, protocol=pickle.HIGHEST_PROTOCOL)
    # A child killed half-way leaves a file that does not unpickle: its successor reads the file on disk.
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)


def load(fd: int) -> Config | None:
    """What the previous process of this child ran; None at the first start (nothing kept yet)."""
    size = os.fstat(fd).st_size
    if not size:
        return None
    try:
        with without_cyclic_collection(keep=True):
            config = pickle.loads(os.pread(fd, size, 0))
    except Exception:  # a half-written file, or one a different version of the code wrote
        return None
    return config if isinstance(config, Config) else None
