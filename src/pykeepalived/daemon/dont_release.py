"""keepalived's -I (--dont-release-ipvs): the checker stops and leaves the load balancer as it is.

keepalived skips clear_services() (its virtual servers, and lvs_flush_onstop's flush): the kernel goes on
balancing the connections with the last table until the next start takes it over. The IPVS and nftables data
planes are kernel state and stay; the userspace proxy carries traffic only while its processes run.
"""

from __future__ import annotations

import logging

from ..io.ipvs import IpvsBackend
from ..io.nftables import NftablesBackend
from ..lb.table import MemoryBackend


def close_dataplane(backend: MemoryBackend, release: bool, logger: logging.Logger) -> None:
    """Stop using the data plane: remove what it holds, unless `release` is False (-I) and it can stay."""
    if release:
        backend.close()
    elif isinstance(backend, IpvsBackend):
        backend.shutdown()
    elif not isinstance(backend, NftablesBackend):
        logger.warning("-I/--dont-release-ipvs: the userspace proxy's services end with its processes")
        backend.close()
