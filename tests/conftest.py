"""Shared test helpers, and the namespace lab fixture of the real-kernel tests."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from pykeepalived.lab.netns import Lab


@pytest.fixture
def lab() -> Iterator[Lab]:
    """Routers and a client on a bridge, in namespaces of a unique prefix, deleted afterwards (also on failure)."""
    with Lab(f"pn{secrets.token_hex(3)}") as built:
        yield built
