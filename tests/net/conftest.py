"""Real-kernel tests: each builds its own namespaces (unique prefix) and removes them, even on failure."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from pykeepalived.cli.lab import Lab


@pytest.fixture
def lab() -> Iterator[Lab]:
    with Lab(f"pn{secrets.token_hex(3)}") as built:
        yield built
