"""The checker's dump file, /tmp/keepalived_check.data, golden against Debian's keepalived 2.2.7.

keepalived's checker needs IPVS, which this machine's kernel lacks: both daemons run in the user-mode-linux
guest (tests/uml_vm.py), one after the other, on one configuration (a virtual server, one real server up
with HTTP_GET, one down with TCP_CHECK); check_dump_guest.py signals each. Compared with values masked:
every section, line for line, but the lines listed in NOT_OURS.
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from pathlib import Path

from uml_vm import run_in_ipvs_vm

HERE = Path(__file__).parent
REPOSITORY = HERE.parents[1]
CONFIG = """global_defs {
    router_id golden1
}
virtual_server 10.99.1.1 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 8080 {
        weight 1
        HTTP_GET {
            url {
                path /
                status_code 200
            }
            connect_timeout 1
        }
    }
    real_server 127.0.0.2 8081 {
        weight 2
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
"""
NOT_OURS = {
    " libnftnl version N.N.N",  # we drive nftables through libnftables' JSON, not libnftnl
}


def masked(text: str) -> list[str]:
    return [re.sub(r"\d+", "N", line) for line in text.splitlines() if re.sub(r"\d+", "N", line) not in NOT_OURS]


def test_checker_dump_matches_keepalived_s(tmp_path: Path) -> None:
    work = Path("/var/tmp") / tmp_path.name
    work.mkdir(exist_ok=True)
    config = work / "keepalived.conf"
    config.write_text(CONFIG)
    try:
        result = run_in_ipvs_vm(
            [sys.executable, str(HERE / "check_dump_guest.py"), str(config)], cwd=REPOSITORY, timeout=300,
            environment={"PYTHONPATH": str(REPOSITORY / "src")},
        )  # fmt: skip
    finally:
        config.unlink()
        work.rmdir()
    assert result.status == 0, f"{result.stdout}\n{result.stderr}\n{result.console[-2000:]}"
    dumps = json.loads(result.stdout.strip().splitlines()[-1])
    theirs, ours = masked(dumps["keepalived"]), masked(dumps["pykeepalived"])
    assert ours == theirs, "\n".join(
        f"{'keepalived' if mark == '-' else 'ours'}: {line}"
        for mark, line in ((line[0], line[1:]) for line in difflib.ndiff(theirs, ours))
        if mark in "-+"
    )
