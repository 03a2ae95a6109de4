"""deploy/ansible's role through examples/ansible/playbook.yml on throw-away Debian 12 hosts (tests/net/ansible_lab.py:
a root filesystem and a network namespace each): two runs (the second changes nothing), a client reaching both DR
real servers through the VIP, and the VIP on the backup once the master's daemon is killed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]


def test_the_role_deploys_a_director_pair(tmp_path: Path) -> None:
    ansible = Path(sys.executable).with_name("ansible-playbook")
    assert ansible.exists(), f"ansible-core is missing: {Path(sys.executable).parent}/pip install ansible-core"
    assert shutil.which("unshare"), "unshare (util-linux) is missing"
    build = subprocess.run(["bash", str(REPOSITORY / "scripts" / "build-deb.sh"), str(tmp_path)],
                           capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    deb = build.stdout.strip().splitlines()[-1]
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", sys.executable,
         str(REPOSITORY / "tests" / "net" / "ansible_lab.py"), deb],
        capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("playbook run 2: exit 0;") and "changed=0" in line for line in lines), lines
    assert lines[-1] == "OK", lines
