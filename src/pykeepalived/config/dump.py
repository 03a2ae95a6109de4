"""The resolved model as plain data (for --json) and as an indented text listing (for -d)."""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
from collections.abc import Mapping
from typing import Any

from ..core.diagnostics import Location
from .model import Config, VrrpInstance

Data = dict[str, Any] | list[Any] | str | int | float | bool | None


def to_data(value: Any, config: Config | None = None) -> Data:
    """Plain JSON-able data; absent keywords (None) are left out, VRRP instances show resolved values."""
    if isinstance(value, Location):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            if f.name == "lines":
                continue
            item = getattr(value, f.name)
            if item is None or item == ():
                continue
            out[f.name] = to_data(item, config)
        if isinstance(value, VrrpInstance) and config is not None:
            out["resolved"] = {
                "state": value.effective_state.value,
                "priority": value.effective_priority,
                "version": value.effective_version(config.global_defs.vrrp_version),
                "family": f"inet{'6' if value.family == 6 else ''}",
                "preempt": not value.nopreempt,
            }
        return out
    if isinstance(value, enum.Enum):
        return to_data(value.value)
    if isinstance(
        value, ipaddress.IPv4Address | ipaddress.IPv6Address | ipaddress.IPv4Interface | ipaddress.IPv6Interface
    ):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Mapping):
        return {str(k): to_data(v, config) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [to_data(v, config) for v in value]
    if isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot dump {type(value).__name__}")


def dump_config(config: Config) -> Data:
    return to_data(config, config)


def to_text(data: Data, indent: int = 0) -> list[str]:
    """An indented listing in the spirit of keepalived's -d output."""
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(data, dict):
        for key, item in data.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{key}:")
                lines.extend(to_text(item, indent + 1))
            else:
                lines.append(f"{pad}{key} = {item}")
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, dict):
                lines.append(f"{pad}-")
                lines.extend(to_text(item, indent + 1))
            else:
                lines.append(f"{pad}- {item}")
    else:
        lines.append(f"{pad}{data}")
    return lines
