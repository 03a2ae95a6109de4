"""The configuration a child runs, kept in a memfd for its respawn: every file of the corpus of public
deployments comes back the same (as `dump-config` prints it); nothing kept, or a half-written keep, reads as
nothing (the file is read)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from memfs import config_from

from pykeepalived.config.dump import dump_config
from pykeepalived.daemon import running_config

CORPUS = sorted((Path(__file__).resolve().parents[2] / "interop" / "corpus").glob("*.conf"))


@pytest.fixture
def kept() -> Iterator[int]:
    fd = running_config.create("test")
    yield fd
    os.close(fd)


@pytest.mark.parametrize("path", CORPUS, ids=lambda path: path.name)
def test_a_deployment_s_configuration_comes_back_equal(path: Path, kept: int) -> None:
    config = config_from(path.read_text()).config
    assert config is not None
    running_config.save(kept, config)
    back = running_config.load(kept)
    assert back is not None and dump_config(back) == dump_config(config)


def test_a_later_save_replaces_the_earlier_one(kept: int) -> None:
    longer = config_from("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 7\n priority 150\n}\n").config
    shorter = config_from("global_defs {\n router_id r1\n}\n").config
    assert longer is not None and shorter is not None
    running_config.save(kept, longer)
    running_config.save(kept, shorter)
    back = running_config.load(kept)
    assert back is not None and dump_config(back) == dump_config(shorter)


def test_nothing_kept_or_a_half_written_keep_is_nothing(kept: int) -> None:
    assert running_config.load(kept) is None
    config = config_from("global_defs {\n router_id r1\n}\n").config
    assert config is not None
    running_config.save(kept, config)
    os.ftruncate(kept, os.fstat(kept).st_size // 2)
    assert running_config.load(kept) is None
