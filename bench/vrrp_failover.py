"""Failover time, pykeepalived beside keepalived, measured by ../shared/tools/vrrp_lab.py in alternating runs.

For each setting: the wire failover (the old master's last advert to the new master's first advert, the
figure keepalived's theory predicts) and what a client sees (first ICMP reply from the new master's MAC,
measured from the SIGKILL). Medians over the trials. Not a pass/fail test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

LAB_TOOL = Path(__file__).resolve().parents[2] / "shared" / "tools" / "vrrp_lab.py"
DAEMONS = {
    "keepalived": "keepalived -n -l -G -P -f {conf} -p {pidfile} -r {vrrp_pidfile}",
    "pykeepalived": f"{sys.executable} -m pykeepalived.cli.daemon "
    "-n -l -G -P -f {conf} -p {pidfile} -r {vrrp_pidfile}",
}
SETTINGS = {"v2/1s": ("2", "1"), "v3/0.1s": ("3", "0.1"), "v3/0.05s": ("3", "0.05")}


def measure(daemon: str, version: str, advert_int: str, trials: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "failover.json"
        command = [sys.executable, str(LAB_TOOL), "failover", "--prefix", "pb", "--version", version,
                   "--advert-int", advert_int, "--trials", str(trials), "--daemon", DAEMONS[daemon],
                   "--out", str(out)]  # fmt: skip
        subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
        if not out.exists():
            return {}
        trials_data = json.loads(out.read_text()).get("trials", [])
    figures: dict[str, list[float]] = {"wire": [], "client": []}
    for trial in trials_data:
        if trial.get("advert_from_last_advert_s") is not None:
            figures["wire"].append(trial["advert_from_last_advert_s"])
        if trial.get("icmp_s") is not None:
            figures["client"].append(trial["icmp_s"])
    return figures


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs per daemon and setting")
    args = parser.parse_args()
    print(f"{'setting':9} {'daemon':13} {'wire median ms':>15} {'client median ms':>17} {'n':>3}")
    for setting, (version, advert_int) in SETTINGS.items():
        collected: dict[str, dict[str, list[float]]] = {d: {"wire": [], "client": []} for d in DAEMONS}
        for _ in range(args.rounds):
            for daemon in DAEMONS:
                for key, values in measure(daemon, version, advert_int, args.trials).items():
                    collected[daemon][key].extend(values)
        for daemon, figures in collected.items():
            wire = statistics.median(figures["wire"]) * 1000 if figures["wire"] else float("nan")
            client = statistics.median(figures["client"]) * 1000 if figures["client"] else float("nan")
            print(f"{setting:9} {daemon:13} {wire:15.1f} {client:17.1f} {len(figures['wire']):3d}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
