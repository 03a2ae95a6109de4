"""The lint agrees with reality: the same two node files, linted, then run by real daemons in namespaces
(pykeepalived, and Debian's keepalived as the reference), each scenario provoked for real; who holds the
VIP must be who the lint said, for every phase. The real time of each move is printed beside the lint's
virtual time.

Two clusters: the weight mistake (a failing check on r1 leaves it the VIP, 150-20=130 >= 100), and its fix
(-60), which goes through a check failing and recovering, the daemon stopped and started, the link down and
up, and a partition (VRRP dropped between the routers by nftables in their namespaces) and its heal.
"""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

import pytest

from pykeepalived.lab.netns import Lab, Router, run
from pykeepalived.lint.cluster import read_cluster
from pykeepalived.lint.scenarios import Outcome, run_all

VIP = "10.99.1.1"
ADVERT_INT = 0.2
# Longer than any move the lint predicts here (its check's fall x interval plus a down timer).
MOVE_WITHIN = 4.0
# A phase that starts a daemon also waits for the interpreter to start.
START_WITHIN = 10.0
# A phase where nothing should move is watched this long for a move that should not happen.
STAY_FOR = 2.0


def node_config(router: Router, priority: int, weight: int, flag: Path) -> str:
    return f"""global_defs {{
    router_id r{router.index}
}}
vrrp_script chk {{
    script "/usr/bin/test -e {flag}"
    interval 0.2
    fall 2
    rise 2
    weight {weight}
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int {ADVERT_INT}
    version 3
    virtual_ipaddress {{
        {VIP}/32 dev eth0
    }}
    track_script {{
        chk
    }}
}}
"""


def lint_predictions(paths: list[Path]) -> dict[str, Outcome]:
    cluster = read_cluster([str(p) for p in paths], ["r1", "r2"])
    return {o.phase: o for run in run_all(cluster) for o in run.outcomes}


def holders(lab: Lab) -> tuple[str, ...]:
    return tuple(sorted(f"r{r.index}" for r in lab.holders(VIP)))


def settle_on(lab: Lab, predicted: Outcome, since: float, within: float = MOVE_WITHIN) -> float | None:
    """Wait until the VIP is where the lint said and stays there; the real seconds the move took."""
    (router,) = predicted.groups
    # What the lint's run of the engines ended with (where the cluster is right, also what was expected).
    expected = router.observed
    moves = expected != router.before
    deadline = since + (within if moves else STAY_FOR)
    arrived: float | None = None
    while time.monotonic() < deadline:
        now = holders(lab)
        if now == expected and arrived is None:
            arrived = time.monotonic() - since
            if moves:
                break
        elif now != expected:
            arrived = None
        time.sleep(0.02)
    seen = holders(lab)
    assert seen == expected, f"{predicted.phase}: the lint said {expected}, the daemons hold {seen}"
    # Held for a moment more: the daemons settled where the lint did.
    time.sleep(3 * ADVERT_INT + 0.3)
    assert holders(lab) == expected, f"{predicted.phase}: moved on after settling, to {holders(lab)}"
    return arrived if moves else None


def cut(lab: Lab, router: Router, other: Router) -> None:
    namespace = router.namespace
    run("ip", "netns", "exec", namespace, "nft", "add", "table", "ip", "lintcut")
    run("ip", "netns", "exec", namespace, "nft", "add chain ip lintcut in { type filter hook input priority 0 ; }")
    run("ip", "netns", "exec", namespace, "nft", "add", "rule", "ip", "lintcut", "in", "ip", "saddr", other.address,
        "ip", "protocol", "vrrp", "drop")  # fmt: skip


def heal(lab: Lab, router: Router) -> None:
    run("ip", "netns", "exec", router.namespace, "nft", "delete", "table", "ip", "lintcut")


def restart(lab: Lab, router: Router, config: Path, daemon: list[str] | None) -> None:
    assert router.process is not None
    router.process.wait(timeout=10)
    lab.start_router(router, config.read_text(), daemon=daemon)


def daemon_command(name: str) -> list[str] | None:
    if name == "pykeepalived":
        return None
    assert shutil.which("keepalived"), "Debian's keepalived must be installed (the README's test command does it)"
    return ["keepalived"]


def write_nodes(lab: Lab, weight: int) -> tuple[list[Path], dict[str, Path]]:
    first, second = lab.routers
    flags = {f"r{r.index}": lab.workdir / f"r{r.index}-ok" for r in lab.routers}
    for flag in flags.values():
        flag.touch()
    paths = []
    for router, priority in ((first, 150), (second, 100)):
        path = lab.workdir / f"node-r{router.index}.conf"
        path.write_text(node_config(router, priority, weight, flags[f"r{router.index}"]))
        paths.append(path)
    return paths, flags


@pytest.mark.parametrize("daemon", ["pykeepalived", "keepalived"])
def test_the_weight_mistake_as_the_lint_says(lab: Lab, daemon: str) -> None:
    command = daemon_command(daemon)
    paths, flags = write_nodes(lab, -20)
    predicted = lint_predictions(paths)
    assert not predicted["script chk fails on r1"].ok
    started = time.monotonic()
    for router, path in zip(lab.routers, paths, strict=True):
        lab.start_router(router, path.read_text(), daemon=command)
    report = [f"start-up: {settle_on(lab, predicted['start-up'], started, START_WITHIN)}"]
    since = time.monotonic()
    flags["r1"].unlink()
    report.append(f"check fails on r1 (stays): {settle_on(lab, predicted['script chk fails on r1'], since)}")
    since = time.monotonic()
    flags["r1"].touch()
    report.append(f"check recovers: {settle_on(lab, predicted['script chk recovers on r1'], since)}")
    print(f"\n{daemon}: " + "; ".join(report))


@pytest.mark.parametrize("daemon", ["pykeepalived", "keepalived"])
def test_the_fixed_cluster_through_eight_scenarios_as_the_lint_says(lab: Lab, daemon: str) -> None:
    command = daemon_command(daemon)
    first, second = lab.routers
    paths, flags = write_nodes(lab, -60)
    predicted = lint_predictions(paths)
    assert all(o.ok for o in predicted.values()), [o.phase for o in predicted.values() if not o.ok]
    timings: list[str] = []

    def check(phase: str, since: float, within: float = MOVE_WITHIN) -> None:
        real = settle_on(lab, predicted[phase], since, within)
        virtual = predicted[phase].groups[0].moved_after
        shown = "stays" if real is None else f"{real:.2f} s real, {virtual:.2f} s virtual"
        timings.append(f"{phase}: {shown}")

    started = time.monotonic()
    for router, path in zip(lab.routers, paths, strict=True):
        lab.start_router(router, path.read_text(), daemon=command)
    check("start-up", started, START_WITHIN)
    since = time.monotonic()
    flags["r1"].unlink()
    check("script chk fails on r1", since)
    since = time.monotonic()
    flags["r1"].touch()
    check("script chk recovers on r1", since)
    since = time.monotonic()
    lab.signal_router(first, signal.SIGTERM)
    check("r1 daemon stopped", since)
    since = time.monotonic()
    restart(lab, first, paths[0], command)
    check("r1 daemon started", since, START_WITHIN)
    since = time.monotonic()
    lab.set_link(first, False)
    check("eth0 link down on r1", since)
    since = time.monotonic()
    lab.set_link(first, True)
    check("eth0 link up on r1", since)
    since = time.monotonic()
    cut(lab, first, second)
    cut(lab, second, first)
    check("r1 cut off from r2", since)
    since = time.monotonic()
    heal(lab, first)
    heal(lab, second)
    check("r1 heard again", since)
    since = time.monotonic()
    flags["r2"].unlink()
    check("script chk fails on r2", since)
    print(f"\n{daemon}: " + "; ".join(timings))
