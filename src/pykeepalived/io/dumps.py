"""Dump files other processes wait for (SIGUSR1/SIGUSR2 dumps, the nftables state file)."""

from __future__ import annotations

import contextlib
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


def write_text_atomically(path: str, text: str, logger: logging.Logger) -> None:
    """keepalived's dump files: whole or not at all, readable by root alone (as its fopen_safe makes them)."""
    partial = f"{path}.new"
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(fd, "w", encoding="utf-8") as dump:
            dump.write(text)
        os.replace(partial, path)
    except OSError as error:
        logger.info(f"Can't open dump file {path} ({error.errno}: {error.strerror})")
