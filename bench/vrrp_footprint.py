"""CPU, memory and start-up time with 255 VRRP instances (VRRPv3, 0.1 s adverts), beside keepalived.

Uses ../shared/tools/vrrp_lab.py footprint: two routers, 255 instances each; the figures are the master's.
Not a pass/fail test.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from vrrp_failover import DAEMONS, LAB_TOOL


def main() -> int:
    print(f"{'daemon':13} {'RSS MiB':>8} {'CPU %':>6} {'all VIPs up s':>14} {'processes':>9}")
    for daemon, template in DAEMONS.items():
        with tempfile.TemporaryDirectory() as directory:
            out = Path(directory) / "footprint.json"
            command = [sys.executable, str(LAB_TOOL), "footprint", "--prefix", "pb", "--version", "3",
                       "--advert-int", "0.1", "--instances", "255", "--daemon", template,
                       "--out", str(out)]  # fmt: skip
            subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
            data = json.loads(out.read_text())
        master = data["routers"]["r1"]
        print(f"{daemon:13} {master['rss_kb_sum'] / 1024:8.1f} {master['cpu_pct']:6.1f} "
              f"{data['start_to_all_vips_s']:14.2f} {len(master['pids']):9d}", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
