"""Run a command under a Linux kernel that has IPVS: Debian's user-mode-linux kernel, booted as an ordinary
process with this machine's / as its read-only root (the kernel these tests run on has no IPVS).

The guest has no network card: only what the command builds (namespaces, veth), so nothing leaves it.
It writes only to /run and /tmp (memory) and to the job directory, which is how the command's output and
exit status come back. UML runs in a mount namespace of its own where / is read-only, so the guest
cannot change the host's files even by remounting its root.
"""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent / "uml"
KERNEL = "linux.uml"
IPVS_MODULES = (
    "ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr ip_vs_dh ip_vs_sh ip_vs_sed ip_vs_nq "
    "ip_vs_fo ip_vs_ovf ip_vs_mh veth dummy bridge"
)
PASSED_ENVIRONMENT = ("PATH", "HOME", "LANG", "TERM")
MEMORY_MIB = 768


@dataclass
class GuestRun:
    status: int | None
    stdout: str
    stderr: str
    console: str


def missing_tools() -> list[str]:
    return [tool for tool in (KERNEL, "ipvsadm", "gcc", "modprobe", "unshare") if shutil.which(tool) is None]


def _build_shim(job: Path) -> Path:
    shim = job / "xstate_shim.so"
    subprocess.run(
        ["gcc", "-O2", "-shared", "-fPIC", "-o", str(shim), str(HERE / "xstate_shim.c"), "-ldl"],
        check=True, capture_output=True,
    )  # fmt: skip
    return shim


def run_in_ipvs_vm(
    command: list[str], cwd: Path, timeout: float, environment: dict[str, str] | None = None
) -> GuestRun:
    """Boot the guest, run `command` in `cwd` as root, power off; status None if it never reported one."""
    missing = missing_tools()
    if missing:
        raise RuntimeError(f"missing {', '.join(missing)}: apt-get install user-mode-linux ipvsadm gcc libc6-dev kmod")
    # Not under /tmp or /run: the guest mounts its own there.
    job = Path(tempfile.mkdtemp(prefix="pykeepalived-uml-", dir="/var/tmp"))
    try:
        shim = _build_shim(job)
        passed = {name: os.environ[name] for name in PASSED_ENVIRONMENT if name in os.environ}
        passed.update(PYTHONDONTWRITEBYTECODE="1", **(environment or {}))
        (job / "environment").write_text("".join(f"{name}={shlex.quote(value)}\n" for name, value in passed.items()))
        (job / "command").write_text(shlex.join(command) + "\n")
        (job / "cwd").write_text(str(cwd))
        (job / "modules").write_text(IPVS_MODULES)
        (job / "stderr").touch()
        # UML backs the guest's memory with a file in TMPDIR: /dev/shm when it has room.
        memory_dir = "/dev/shm" if shutil.disk_usage("/dev/shm").free > MEMORY_MIB * 2**20 * 2 else str(job)
        boot = shlex.join([
            KERNEL, f"mem={MEMORY_MIB}M", "root=/dev/root", "rootfstype=hostfs", "rootflags=/", "ro",
            f"init={HERE / 'guest_init.sh'}", "quiet", "panic=-1", "con=null", "con0=null,fd:1",
            f"uml_dir={job}", f"umid=pyk{secrets.token_hex(4)}", f"pykeepalived.job={job}",
        ])  # fmt: skip
        host_side = (
            f"mount --bind {shlex.quote(str(job))} {shlex.quote(str(job))} && mount -o remount,bind,ro / && "
            f"TMPDIR={shlex.quote(memory_dir)} LD_PRELOAD={shlex.quote(str(shim))} exec {boot}"
        )
        with open(job / "console", "wb") as console:
            guest = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "bash", "-c", host_side],
                stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
            try:
                guest.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
            finally:
                # UML's helper processes share its process group: end the group, ours alone.
                for signum in (signal.SIGTERM, signal.SIGKILL):
                    if guest.poll() is None:
                        os.killpg(guest.pid, signum)
                        try:
                            guest.wait(timeout=5)
                        except subprocess.TimeoutExpired:
                            continue
        status_file = job / "status"
        return GuestRun(
            status=int(status_file.read_text()) if status_file.exists() else None,
            stdout=(job / "stdout").read_text(errors="replace") if (job / "stdout").exists() else "",
            stderr=(job / "stderr").read_text(errors="replace"),
            console=(job / "console").read_text(errors="replace"),
        )
    finally:
        shutil.rmtree(job, ignore_errors=True)
