"""keepalived's dump files, golden against Debian's keepalived 2.2.7: the same configuration (two instances
in one sync group, a tracked script, multicast VRRPv2 with PASS and unicast VRRPv3; beside them VRRPv3 over
IPv6 and VRRPv2 with AH, a tracked interface, a notify script, excluded VIPs and a virtual route) runs under
keepalived, then under pykeepalived, as r1 of a two-router lab whose r2 (the same daemon, priority 200) is
master first and then stops. At each of three moments (r1 BACKUP, then MASTER, then FAULT with its link
down) r1's parent gets SIGUSR1, SIGUSR2 and the JSON signal, and the files are compared with their values
masked: .stats line for line, the .data sections keepalived writes line for line (Global definitions, VRRP
Topology, Sockpool, Sync groups, Scripts, Interfaces), the JSON's keys in keepalived's order. Last,
STATS_CLEAR: .stats written, then every counter from zero.

/tmp/keepalived.* is shared by every namespace: keepalived and ours never run at the same time, and each
result is moved away before the next. keepalived's checker cannot run on this kernel (no IPVS: it exits and
takes the daemon down), so both run the VRRP side (-P); test_check_dump_file.py compares the checker's file
in a kernel with IPVS.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import time
from pathlib import Path

from pykeepalived.lab.netns import Lab, Router

DUMPS = ("keepalived.data", "keepalived.stats", "keepalived.json", "keepalived_parent.data")
SIGJSON = signal.SIGRTMIN + 2
SIGSTATS_CLEAR = signal.SIGRTMAX - 1
VIPS = ("10.99.1.1", "10.99.1.2")
# Lines keepalived prints that ours leaves out, each for a reason the README gives.
NOT_OURS = {
    " libnftnl version N.N.N",  # we drive nftables through libnftables' JSON, not libnftnl
}


def config(router: Router, peer: Router, priority: int) -> str:
    return f"""global_defs {{
    router_id golden{router.index}
}}
vrrp_script chk_ok {{
    script "/bin/true"
    interval 1
    rise 1
    fall 1
}}
vrrp_sync_group SG_1 {{
    group {{
        VI_1
        VI_2
    }}
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 1
    version 2
    authentication {{
        auth_type PASS
        auth_pass secret
    }}
    track_script {{
        chk_ok weight 0
    }}
    virtual_ipaddress {{
        {VIPS[0]}/32 dev eth0
    }}
}}
vrrp_instance VI_2 {{
    state BACKUP
    interface eth0
    virtual_router_id 52
    priority {priority}
    advert_int 0.5
    version 3
    unicast_src_ip {router.address}
    unicast_peer {{
        {peer.address}
    }}
    virtual_ipaddress {{
        {VIPS[1]}/24 dev eth0
    }}
}}
vrrp_instance VI_3 {{
    state BACKUP
    interface eth0
    virtual_router_id 53
    priority {priority}
    advert_int 1
    version 3
    virtual_ipaddress {{
        fd00:99::1/64 dev eth0
    }}
}}
vrrp_instance VI_4 {{
    state BACKUP
    interface eth0
    virtual_router_id 54
    priority {priority}
    advert_int 1
    version 2
    authentication {{
        auth_type AH
        auth_pass secret12
    }}
    track_interface {{
        lo weight 5
    }}
    notify_master "/bin/true master"
    virtual_ipaddress {{
        10.99.1.4/32 dev eth0 label eth0:vip
    }}
    virtual_ipaddress_excluded {{
        10.99.1.5/32 dev eth0
    }}
    virtual_routes {{
        10.98.0.0/16 via 10.99.0.1 dev eth0
    }}
}}
virtual_server {VIPS[0]} 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.99.0.20 8080 {{
        weight 1
        TCP_CHECK {{
            connect_timeout 1
        }}
    }}
    real_server 10.99.0.21 8080 {{
        weight 2
        TCP_CHECK {{
            connect_timeout 1
        }}
    }}
}}
"""


def wait_until(condition: object, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not callable(condition) or not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def dump(lab: Lab, router: Router, into: Path) -> None:
    """Signal the router's parent as users do, and move each file keepalived's processes write away."""
    parent = lab.router_pids(router)[0]
    into.mkdir(parents=True)
    for name in DUMPS:
        Path("/tmp", name).unlink(missing_ok=True)
    for signum, names in ((signal.SIGUSR1, DUMPS[0::3]), (signal.SIGUSR2, DUMPS[1:2]), (SIGJSON, DUMPS[2:3])):
        os.kill(parent, signum)
        for name in names:
            wait_until(Path("/tmp", name).exists, 5, f"/tmp/{name} did not appear")
        # keepalived writes in place: let it finish.
        time.sleep(0.3)
    for name in DUMPS:
        shutil.move(f"/tmp/{name}", into / name)


def entered(lab: Lab, router: Router, state: str) -> bool:
    log = "\n".join(lab.log_lines(router))
    return all(f"({name}) Entering {state} STATE" in log for name in ("VI_1", "VI_2", "VI_3", "VI_4"))


def cleared_stats(lab: Lab, router: Router, into: Path) -> None:
    """STATS_CLEAR writes .stats and clears the counters; the next SIGUSR2 shows them from zero (in FAULT
    nothing is sent or received)."""
    into.mkdir(parents=True)
    parent = lab.router_pids(router)[0]
    stats = Path("/tmp/keepalived.stats")
    for signum, name in ((SIGSTATS_CLEAR, "before_clear.stats"), (signal.SIGUSR2, "after_clear.stats")):
        stats.unlink(missing_ok=True)
        os.kill(parent, signum)
        wait_until(stats.exists, 5, f"{stats} did not appear")
        time.sleep(0.3)
        shutil.move(str(stats), into / name)


def run(daemon: list[str] | None, out: Path) -> None:
    """r2 master, r1 backup: dump r1; stop r2, r1 master: dump r1; r1's link down, r1 in fault: dump r1."""
    with Lab(f"pg{secrets.token_hex(2)}", routers=2) as lab:
        first, second = lab.routers
        lab.start_router(second, config(second, first, 200), "-D", "-c", str(lab.workdir / "r2.check.pid"),
                         daemon=daemon)  # fmt: skip
        wait_until(lambda: all(lab.holders(vip) == [second] for vip in VIPS), 15, "r2 never became master")
        lab.start_router(first, config(first, second, 100), "-D", "-c", str(lab.workdir / "r1.check.pid"),
                         daemon=daemon)  # fmt: skip
        wait_until(lambda: len(lab.router_pids(first)) == 2, 10, "r1 did not start")
        wait_until(
            lambda: all(
                f"({name}) Entering BACKUP STATE" in "\n".join(lab.log_lines(first)) for name in ("VI_1", "VI_2")
            ),
            10,
            "r1 never entered BACKUP",
        )
        time.sleep(2.5)
        dump(lab, first, out / "backup")
        assert second.process is not None
        second.process.terminate()
        second.process.wait(10)
        wait_until(lambda: all(lab.holders(vip) == [first] for vip in VIPS), 15, "r1 never took over")
        time.sleep(1.5)
        dump(lab, first, out / "master")
        lab.set_link(first, False)
        wait_until(lambda: entered(lab, first, "FAULT"), 10, "r1 never entered FAULT")
        time.sleep(1)
        dump(lab, first, out / "fault")
        cleared_stats(lab, first, out / "cleared")
        assert first.process is not None
        first.process.terminate()
        first.process.wait(10)


def masked(text: str) -> list[str]:
    """Values that differ from run to run: times, numbers, descriptors."""
    text = re.sub(r"\((\w{3} \w{3} [ \d]\d [\d:.]+ \d{4})\)", "(TIME)", text)
    return [re.sub(r"\d+", "N", line) for line in text.splitlines()]


def sections(lines: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    current = ""
    for line in lines:
        if line.startswith("------<"):
            current = line
            found[current] = []
        else:
            found.setdefault(current, []).append(line)
    return found


def value_kinds(values: dict[str, object]) -> list[tuple[str, str]]:
    """Keys in order, each with its kind of value (keepalived prints floats with %g: 1.0 reads back as 1)."""
    numbers = (int, float)
    return [
        (k, "number" if isinstance(v, numbers) and not isinstance(v, bool) else type(v).__name__)
        for k, v in values.items()
    ]


def compare(theirs: Path, ours: Path) -> list[str]:
    problems: list[str] = []
    if masked((theirs / "keepalived.stats").read_text()) != masked((ours / "keepalived.stats").read_text()):
        problems.append("keepalived.stats differs")
    for name in ("keepalived.data", "keepalived_parent.data"):
        their_sections = sections(masked((theirs / name).read_text()))
        our_sections = sections(masked((ours / name).read_text()))
        for title, lines in their_sections.items():
            expected = [line for line in lines if line not in NOT_OURS]
            if our_sections.get(title) != expected:
                problems.append(f"{name} {title}: keepalived {expected} ours {our_sections.get(title)}")
        extra = set(our_sections) - set(their_sections)
        if extra:
            problems.append(f"{name}: sections keepalived has not: {sorted(extra)}")
    their_json, our_json = (json.loads((d / "keepalived.json").read_text()) for d in (theirs, ours))
    for their_entry, our_entry in zip(their_json, our_json, strict=True):
        for part in ("data", "stats"):
            kinds, our_kinds = value_kinds(their_entry[part]), value_kinds(our_entry[part])
            if kinds != our_kinds:
                problems.append(f"keepalived.json {part}: keepalived {kinds} ours {our_kinds}")
    return problems


def test_dump_files_match_keepalived_s(tmp_path: Path) -> None:
    assert shutil.which("keepalived"), "Debian's keepalived must be installed (the README's test command does it)"
    run(["keepalived"], tmp_path / "keepalived")
    run(None, tmp_path / "pykeepalived")
    problems = []
    for moment in ("backup", "master", "fault"):
        problems += [
            f"{moment}: {p}" for p in compare(tmp_path / "keepalived" / moment, tmp_path / "pykeepalived" / moment)
        ]
    assert not problems, "\n".join(problems)
    for daemon in ("keepalived", "pykeepalived"):
        cleared = tmp_path / daemon / "cleared"
        before, after = ((cleared / name).read_text() for name in ("before_clear.stats", "after_clear.stats"))
        assert masked(before) == masked(after) and re.search(r": [1-9]", before), daemon
        assert not re.search(r": [1-9]", after), f"{daemon}: counters not cleared:\n{after}"
    # What OpenShift's liveness check greps for.
    assert "   State = FAULT\n" in (tmp_path / "pykeepalived" / "fault" / "keepalived.data").read_text()
