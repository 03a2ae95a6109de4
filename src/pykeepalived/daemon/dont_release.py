"""keepalived's -I (--dont-release-ipvs): the checker stops and leaves the load balancer as it is.

keepalived skips clear_services() (its virtual servers, and lvs_flush_onstop's flush): the kernel goes on
balancing the connections with the last table until the next start takes it over. The IPVS and nftables data
planes are kernel state and stay; the userspace proxy carries traffic only while its processes run.
"""

from __future__ import annotations

import logging

from ..io.ipvs import IpvsPlane
from ..io.nftables import NftablesPlane
from ..lb.dataplane import DataPlane


def close_dataplane(plane: DataPlane, release: bool, logger: logging.Logger) -> None:
    """Stop using the data plane: remove what it holds, unless `release` is False (-I) and it can stay."""
    if release:
        plane.close()
    elif isinstance(plane, IpvsPlane):
        plane.shutdown()
    elif not isinstance(plane, NftablesPlane):
        logger.warning("-I/--dont-release-ipvs: the userspace proxy's services end with its processes")
        plane.close()
