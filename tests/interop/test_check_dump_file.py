"""The checker's dump file, /tmp/keepalived_check.data, golden against Debian's keepalived 2.2.7.

keepalived's checker needs IPVS, which this machine's kernel lacks: both daemons run in the user-mode-linux
guest (tests/uml_vm.py), one after the other, on one configuration (a virtual server whose real servers
each have one kind of checker: HTTP_GET up, TCP_CHECK down, SMTP_CHECK, DNS_CHECK, PING_CHECK, UDP_CHECK,
MISC_CHECK); check_dump_guest.py signals each. Compared with values masked:
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
    real_server 127.0.0.3 25 {
        SMTP_CHECK {
            connect_timeout 1
        }
    }
    real_server 127.0.0.4 53 {
        DNS_CHECK {
            type A
            name example.org
            connect_timeout 1
        }
    }
    real_server 127.0.0.5 80 {
        PING_CHECK {
        }
    }
    real_server 127.0.0.6 9 {
        UDP_CHECK {
            payload deadbeef
            require_reply
            min_reply_length 1
            max_reply_length 100
        }
    }
    real_server 127.0.0.7 80 {
        MISC_CHECK {
            misc_path "/bin/true check"
            misc_timeout 3
            retry 1
        }
    }
}
"""

NOT_OURS = {
    " libnftnl version N.N.N",  # we drive nftables through libnftables' JSON, not libnftnl
}
# Values where our checker differs from keepalived's in behaviour, not in the file: the dump shows ours.
DIFFERENT_VALUES = {
    "   helo": "SMTP_CHECK's default HELO name: keepalived's smtpchecker.keepalived.org, ours localhost",
    "   Up": "PING_CHECK of 127.0.0.5 in the guest: keepalived's raw socket is answered, our probe is not",
}


def masked(text: str) -> list[str]:
    lines = []
    for line in text.splitlines():
        line = re.sub(r"\d+", "N", line)
        key = line.split(" = ")[0]
        if line not in NOT_OURS:
            lines.append(f"{key} = VALUE" if key in DIFFERENT_VALUES else line)
    return lines


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
