"""Throw-away Debian 12 hosts for the Ansible role: each a root filesystem of its own (an overlay over
fresh-debian.sh's pristine base) seen through a network namespace of its own on one bridge.

    unshare --mount --propagation private python ansible_lab.py DEB PLAYBOOK   (root)

systemd-nspawn cannot boot a container here (no systemd as PID 1), so a host is a chroot entered through
`ip netns exec`: Ansible's `local` connection runs each module with the host's python3 through a wrapper
(`ip netns exec HOST chroot ROOT /usr/bin/python3`), the module arriving on its standard input
(pipelining); the directory Ansible hands files over in is mounted at the same path in every root. A
module thus runs inside the host, with its files, its packages, its network and its services (started by
the package's sysv script, as systemd cannot run). What is shared with the machine: the kernel, /dev, /proc.

Hosts lb1 and lb2 (directors, 10.99.0.11 and .12) get the role through examples/ansible/playbook.yml;
web1 and web2 (10.99.0.13 and .14) are DR real servers prepared by this script (VIP on lo, arp_ignore=1,
arp_announce=2: pykeepalivedctl realserver is not in this branch) with a web server each; the client is
10.99.0.100. The playbook runs twice; then the client's requests to the VIP must reach both real servers,
and after the master is killed, the backup must hold the VIP and the client still reach them. Prints one
line per step and the playbook's recaps; exits 1 on the first failure. The mount namespace (unshare) takes
every mount away when it ends; the namespaces and their processes are removed on the way out.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from pykeepalived.lab.netns import Lab, Router

REPOSITORY = Path(__file__).resolve().parents[2]
PLAYBOOK = REPOSITORY / "examples" / "ansible" / "playbook.yml"
BASE = Path(os.environ.get("FRESH_BASE", "/var/tmp/fresh-base"))
# Debian's packages the hosts need, installed once over the base (the hosts have no network to fetch them).
IMAGE = Path("/var/tmp/pykeepalived-ansible-image")
IMAGE_PACKAGES = ["python3-apt", "python3-pyroute2", "python3-nftables", "python3-prometheus-client",
                  "python3-dnspython", "python3-aiosmtplib", "python3-uvloop", "nftables", "procps"]  # fmt: skip
VIP = "10.99.1.10"
HOSTS = {"lb1": 0, "lb2": 1, "web1": 2, "web2": 3}  # index in the lab's routers


def run(*command: str, **options: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, check=True, text=True, **options)  # type: ignore[call-overload,no-any-return]


def image_layer() -> Path:
    """The base with IMAGE_PACKAGES: an overlay layer built once (again when the base was rebuilt)."""
    assert (BASE / "usr" / "bin" / "python3").exists(), f"{BASE} is missing: run fresh-debian.sh prepare"
    stamp = str(os.stat(BASE / "etc" / "hostname").st_mtime_ns) + " " + " ".join(IMAGE_PACKAGES)
    marker = IMAGE / "built"
    if marker.exists() and marker.read_text() == stamp:
        return IMAGE / "upper"
    shutil.rmtree(IMAGE, ignore_errors=True)
    for part in ("upper", "work", "root"):
        (IMAGE / part).mkdir(parents=True)
    root = IMAGE / "root"
    run("mount", "-t", "overlay", "overlay", "-o",
        f"lowerdir={BASE},upperdir={IMAGE / 'upper'},workdir={IMAGE / 'work'}", str(root))  # fmt: skip
    try:
        run("mount", "-t", "proc", "proc", str(root / "proc"))
        run("mount", "--rbind", "/dev", str(root / "dev"))
        shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
        environment = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive", "LANG": "C.UTF-8"}
        run("chroot", str(root), "apt-get", "update", "-qq", env=environment)
        run("chroot", str(root), "apt-get", "install", "-y", "-qq", "--no-install-recommends", *IMAGE_PACKAGES,
            env=environment, stdout=subprocess.DEVNULL)  # fmt: skip
        run("chroot", str(root), "apt-get", "clean")
    finally:
        run("umount", "-R", str(root))
    marker.write_text(stamp)
    return IMAGE / "upper"


class Hosts:
    """The lab's routers as hosts: a root filesystem each, and the files Ansible needs to reach them."""

    def __init__(self, lab: Lab, image: Path, workdir: Path) -> None:
        self.lab = lab
        self.workdir = workdir
        # Ansible's temporary files: the same path on this side and in every root.
        self.exchange = workdir / "exchange"
        self.exchange.mkdir()
        self.roots: dict[str, Path] = {}
        for name, index in HOSTS.items():
            router = lab.routers[index]
            top = workdir / name
            for part in ("upper", "work", "root"):
                (top / part).mkdir(parents=True)
            root = top / "root"
            run("mount", "-t", "overlay", "overlay", "-o",
                f"lowerdir={image}:{BASE},upperdir={top / 'upper'},workdir={top / 'work'}", str(root))  # fmt: skip
            run("mount", "-t", "proc", "proc", str(root / "proc"))
            run("mount", "--rbind", "/dev", str(root / "dev"))
            (root / str(self.exchange).lstrip("/")).mkdir(parents=True)
            run("mount", "--bind", str(self.exchange), str(root / str(self.exchange).lstrip("/")))
            (root / "etc" / "hostname").write_text(name + "\n")
            # The host's python3 for Ansible: in its namespace (whose /sys ip netns exec mounts), in its root.
            wrapper = top / "python3"
            wrapper.write_text(
                "#!/bin/sh\n"
                f"exec ip netns exec {router.namespace} sh -c "
                """'mount --rbind /sys "$0/sys" && exec chroot "$0" /usr/bin/python3 "$@"' """
                f'{root} "$@"\n'
            )
            wrapper.chmod(0o755)
            self.roots[name] = root

    def router(self, name: str) -> Router:
        return self.lab.routers[HOSTS[name]]

    def inventory(self, deb: Path) -> Path:
        """The example's inventory with this lab's addresses and hosts."""

        def host(name: str, *variables: str) -> str:
            lines = [f"        {name}:", f"          ansible_python_interpreter: {self.workdir / name / 'python3'}"]
            return "\n".join(lines + [f"          {variable}" for variable in variables])

        directors = "\n".join(
            host(name, f"pykeepalived_role: {role}", f"pykeepalived_address: {self.router(name).address}")
            for name, role in (("lb1", "master"), ("lb2", "backup"))
        )
        real_servers = "\n".join(
            f"              - address: {self.router(name).address}\n"
            "                check: {type: HTTP_GET, url: /, status_code: 200, connect_timeout: 2}"
            for name in ("web1", "web2")
        )
        text = f"""all:
  vars:
    ansible_connection: local
  children:
    directors:
      hosts:
{directors}
      vars:
        pykeepalived_deb: {deb}
        pykeepalived_vrid: 51
        pykeepalived_auth_pass: s3cret
        pykeepalived_vips: ["{VIP}/32"]
        pykeepalived_daemon_args: "--dataplane nftables"
        pykeepalived_virtual_servers:
          - address: {VIP}
            port: 80
            lb_algo: rr
            lb_kind: DR
            delay_loop: 2
            real_servers:
{real_servers}
    realservers:
      hosts:
{host("web1")}
{host("web2")}
"""
        path = self.workdir / "inventory.yml"
        path.write_text(text)
        return path

    def playbook(self, inventory: Path) -> tuple[int, str]:
        environment = {
            "PATH": f"{Path(sys.executable).parent}:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(self.workdir),
            "LANG": "C.UTF-8",
            "ANSIBLE_PIPELINING": "True",
            "ANSIBLE_REMOTE_TMP": str(self.exchange / "remote"),
            "ANSIBLE_LOCAL_TEMP": str(self.exchange / "local"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCALHOST_WARNING": "False",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
        }
        result = subprocess.run(
            [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(PLAYBOOK)],
            capture_output=True, text=True, env=environment, timeout=600, check=False,
        )  # fmt: skip
        return result.returncode, result.stdout + result.stderr


def prepare_real_server(lab: Lab, router: Router, name: str, workdir: Path) -> None:
    """LVS-DR's real-server side by hand: the VIP on lo, no ARP answers for it; and a web server saying who it is."""
    namespace = router.namespace
    run("ip", "-n", namespace, "addr", "add", f"{VIP}/32", "dev", "lo")
    for setting in ("all.arp_ignore=1", "all.arp_announce=2", "eth0.arp_ignore=1", "eth0.arp_announce=2"):
        run("ip", "netns", "exec", namespace, "sysctl", "-q", "-w", f"net.ipv4.conf.{setting}")
    site = workdir / f"site-{name}"
    site.mkdir()
    (site / "index.html").write_text(name + "\n")
    server = subprocess.Popen(
        ["ip", "netns", "exec", namespace, sys.executable, "-m", "http.server", "80", "--directory", str(site)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    lab.started.append(server)


def client_answers(lab: Lab, count: int) -> list[str]:
    """`count` requests to the VIP from the client, each on a new connection: who answered (or the error)."""
    script = (
        "import sys, urllib.request\n"
        f"for _ in range({count}):\n"
        "    try:\n"
        f"        print(urllib.request.urlopen('http://{VIP}/', timeout=2).read().decode().strip())\n"
        "    except OSError as error:\n"
        "        print(f'error: {error}')\n"
    )
    result = run("ip", "netns", "exec", lab.client, sys.executable, "-c", script, capture_output=True, timeout=120)
    return result.stdout.split()


def recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP's counts per host."""
    counts: dict[str, dict[str, int]] = {}
    for host, fields in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.MULTILINE):
        counts[host] = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", fields)}
    return counts


def kill_namespace_processes(namespace: str) -> None:
    """Every process in one of the lab's namespaces (the daemons the playbook started there)."""
    pids = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True, check=False).stdout
    for pid in pids.split():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)


def wait_until(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return True
        time.sleep(0.1)
    return False


def remove_workdir(workdir: Path) -> None:
    """Unmount the roots, then delete them: never while a mount (the machine's /dev, /proc) is under them."""
    for name in HOSTS:
        subprocess.run(["umount", "-R", str(workdir / name / "root")], capture_output=True, check=False)
    mounted = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()
               if line.split()[1].startswith(str(workdir))]  # fmt: skip
    if mounted:
        print(f"still mounted, {workdir} left in place: {mounted}")
        return
    shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def lab_hosts(workdir: Path) -> Iterator[Hosts]:
    image = image_layer()
    with Lab(f"pka{secrets.token_hex(2)}", routers=4) as lab:
        try:
            yield Hosts(lab, image, workdir)
        finally:
            for namespace in lab.namespaces():
                kill_namespace_processes(namespace)


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: ansible_lab.py DEB", file=sys.stderr)
        return 2
    deb = Path(sys.argv[1]).resolve()
    workdir = Path(tempfile.mkdtemp(prefix="pykeepalived-ansible-"))
    try:
        with lab_hosts(workdir) as hosts:
            lab = hosts.lab
            for name in ("web1", "web2"):
                prepare_real_server(lab, hosts.router(name), name, workdir)
            inventory = hosts.inventory(deb)
            for attempt in (1, 2):
                status, output = hosts.playbook(inventory)
                counts = recap(output)
                summary = "; ".join(
                    f"{host} ok={c['ok']} changed={c['changed']} failed={c['failed']}" for host, c in counts.items()
                )
                print(f"playbook run {attempt}: exit {status}; {summary}")
                if status != 0 or set(counts) != {"lb1", "lb2"} or any(c["failed"] for c in counts.values()):
                    print(output)
                    return 1
                if attempt == 2 and any(c["changed"] for c in counts.values()):
                    print(output)
                    print("FAIL: the second run changed something")
                    return 1
            master, backup = hosts.router("lb1"), hosts.router("lb2")
            if not wait_until(lambda: lab.holders(VIP) == [master], 20):
                print(f"FAIL: lb1 does not hold {VIP} alone: {[r.namespace for r in lab.holders(VIP)]}")
                return 1
            print(f"lb1 holds {VIP}")
            # Both real servers healthy in the checker (HTTP_GET every 2 s) before counting.
            time.sleep(5)
            answers = client_answers(lab, 20)
            print(f"client, 20 requests to {VIP} through lb1: " + ", ".join(
                f"{answers.count(name)} from {name}" for name in sorted(set(answers))))  # fmt: skip
            if set(answers) != {"web1", "web2"}:
                return 1
            kill_namespace_processes(master.namespace)
            killed = time.monotonic()
            if not wait_until(lambda: lab.holders(VIP) == [backup], 15):
                print(f"FAIL: after lb1's daemon was killed: holders {[r.namespace for r in lab.holders(VIP)]}")
                return 1
            print(f"lb1's daemon killed: lb2 holds {VIP} alone {time.monotonic() - killed:.1f} s later")
            time.sleep(5)
            answers = client_answers(lab, 20)
            print(f"client, 20 requests to {VIP} through lb2: " + ", ".join(
                f"{answers.count(name)} from {name}" for name in sorted(set(answers))))  # fmt: skip
            if set(answers) != {"web1", "web2"}:
                return 1
    finally:
        remove_workdir(workdir)
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
