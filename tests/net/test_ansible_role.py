"""deploy/ansible's roles through examples/ansible/playbook.yml on throw-away Debian 12 hosts
(tests/net/ansible_lab.py: a root filesystem and a network namespace each), directors and DR real servers: two
runs (the second changes nothing), a client reaching both real servers through the VIP, a file pykeepalived -t
refuses (nothing changes), a change reloaded in place, a package upgrade without a VIP move, and the VIP on the
backup once the master's daemon is killed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]


def test_the_role_deploys_a_director_pair(tmp_path: Path) -> None:
    ansible = Path(sys.executable).with_name("ansible-playbook")
    assert ansible.exists(), f"ansible-core is missing: {Path(sys.executable).parent}/pip install ansible-core"
    assert shutil.which("unshare"), "unshare (util-linux) is missing"
    debs = []
    for version in ("0.1.0", "0.1.0+upgrade1"):
        build = subprocess.run(
            ["bash", str(REPOSITORY / "scripts" / "build-deb.sh"), str(tmp_path)],
            capture_output=True, text=True, timeout=300, check=False,
            env={**os.environ, "PYKEEPALIVED_DEB_VERSION": version},
        )  # fmt: skip
        assert build.returncode == 0, build.stdout + build.stderr
        debs.append(build.stdout.strip().splitlines()[-1])
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", sys.executable,
         str(REPOSITORY / "tests" / "net" / "ansible_lab.py"), *debs],
        capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("playbook, run 2: exit 0;") and "changed=1" not in line for line in lines), lines
    assert lines[-1] == "OK", lines
