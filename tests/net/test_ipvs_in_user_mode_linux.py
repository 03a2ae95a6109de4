"""IPVS for real: the kernel here has none, so tests/net/ipvs_guest runs under Debian's user-mode-linux
kernel (tests/uml_vm.py), which has every IPVS module: the IPVS backend programs and reads back every
scheduler, forwarding method, fwmark and IPv6, as ipvsadm lists them; keepalived and pykeepalived, given
one configuration, leave identical `ipvsadm -Ln` tables before and after a real server fails; real servers
prepared by `pykeepalivedctl realserver` serve behind IPVS in DR and TUN mode (this kernel has no IPIP)."""

from __future__ import annotations

import sys
from pathlib import Path

from uml_vm import run_in_ipvs_vm

REPOSITORY = Path(__file__).resolve().parents[2]
GUEST_TESTS = Path(__file__).parent / "ipvs_guest" / "guest_ipvs.py"
GUEST_REAL_SERVERS = Path(__file__).parent / "ipvs_guest" / "guest_realserver.py"


def test_ipvs_backend_and_keepalived_differential_in_a_kernel_with_ipvs() -> None:
    result = run_in_ipvs_vm(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "--rootdir", str(REPOSITORY),
         str(GUEST_TESTS)],
        cwd=REPOSITORY, timeout=600, environment={"PYKEEPALIVED_IN_UML": "1"},
    )  # fmt: skip
    print(result.stdout)
    assert result.status is not None, f"the guest did not finish; its console:\n{result.console[-3000:]}"
    assert result.status == 0, f"{result.stdout}\n{result.stderr}"


def test_real_servers_prepared_by_the_command_behind_ipvs_in_dr_and_tun_mode() -> None:
    result = run_in_ipvs_vm(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "--rootdir", str(REPOSITORY),
         str(GUEST_REAL_SERVERS)],
        cwd=REPOSITORY, timeout=300,
        environment={"PYKEEPALIVED_IN_UML": "1", "PYTHONPATH": str(REPOSITORY / "src")},
    )  # fmt: skip
    print(result.stdout)
    assert result.status is not None, f"the guest did not finish; its console:\n{result.console[-3000:]}"
    assert result.status == 0, f"{result.stdout}\n{result.stderr}"
