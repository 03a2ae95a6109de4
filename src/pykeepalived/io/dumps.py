"""Dump files other processes wait for (SIGUSR1/SIGUSR2 dumps, the nftables state file)."""

from __future__ import annotations

import json
import logging
import os


def write_json_atomically(path: str, data: object, logger: logging.Logger) -> None:
    """A dump file, whole or not at all: whoever signalled for it waits for it to appear and reads it."""
    try:
        with open(f"{path}.new", "w", encoding="utf-8") as dump:
            json.dump(data, dump, indent=2)
            dump.write("\n")
        os.replace(f"{path}.new", path)
    except OSError as error:
        logger.error(f"cannot write {path}: {error}")
