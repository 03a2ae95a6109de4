"""Throw-away Debian 12 hosts for the Ansible role: each a root filesystem of its own (an overlay over
fresh-debian.sh's pristine base) seen through a network namespace of its own on one bridge.

    unshare --mount --propagation private python ansible_lab.py DEB UPGRADE_DEB   (root)

systemd-nspawn cannot boot a container here (no systemd as PID 1), so a host is a chroot entered through
`ip netns exec`: Ansible's `local` connection runs each module with the host's python3 through a wrapper
(`ip netns exec HOST chroot ROOT /usr/bin/python3`), the module arriving on its standard input
(pipelining); the directory Ansible hands files over in is mounted at the same path in every root. A
module thus runs inside the host, with its files, its packages, its network and its services (started by
the package's sysv script, as systemd cannot run). What is shared with the machine: the kernel, /dev, /proc.

Through examples/ansible/playbook.yml, hosts lb1 and lb2 (10.99.0.11 and .12) get the director role and
web1 and web2 (10.99.0.13 and .14) the real-server role (`pykeepalivedctl realserver setup`: the VIP on lo,
arp_ignore=1, arp_announce=2), each with a web server this script starts; the client is 10.99.0.100. The
playbook runs twice (the second run changes nothing), and the client's requests to the VIP must reach both
real servers. Then, with the VIP's holders polled throughout: a run with a VRID out of range
(validate: refuses it, the file and the VIP stay), a run changing router_id (the handler reloads; the same
daemons, the VIP stays), a run with UPGRADE_DEB (the postinst kills and restarts the daemons; the VIP stays on
lb1); last, lb1's daemon killed: lb2 must hold the VIP and the client still reach both real servers. Prints
one line per step (and the playbook's output when a run is not as expected); exits 1 on the first failure.
The mount namespace (unshare) takes every mount away when it ends; the network namespaces and their
processes are removed on the way out.
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
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from pykeepalived.lab.netns import Lab, Router

REPOSITORY = Path(__file__).resolve().parents[2]
PLAYBOOK = REPOSITORY / "examples" / "ansible" / "playbook.yml"
BASE = Path(os.environ.get("FRESH_BASE", "/var/tmp/fresh-base"))
SHARED_TOOL = REPOSITORY.parent / "shared" / "tools" / "fresh-debian.sh"
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
    if not (BASE / "usr" / "bin" / "python3").exists():
        # fresh-debian.sh (../shared/tools beside the clone) debootstraps it once and keeps it.
        assert SHARED_TOOL.exists(), f"{BASE} is missing and so is {SHARED_TOOL}, which makes it"
        run("bash", str(SHARED_TOOL), "prepare")
    stamp = str(os.stat(BASE / "etc" / "hostname").st_mtime_ns) + " " + " ".join(IMAGE_PACKAGES)
    marker = IMAGE / "built"
    if marker.exists() and marker.read_text() == stamp:
        return IMAGE / "upper"
    shutil.rmtree(IMAGE, ignore_errors=True)
    build = IMAGE / "build"
    root = overlay_root(build, str(BASE))
    try:
        shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
        environment = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive", "LANG": "C.UTF-8"}
        run("chroot", str(root), "apt-get", "update", "-qq", env=environment)
        run("chroot", str(root), "apt-get", "install", "-y", "-qq", "--no-install-recommends", *IMAGE_PACKAGES,
            env=environment, stdout=subprocess.DEVNULL)  # fmt: skip
        run("chroot", str(root), "apt-get", "clean")
    finally:
        run("umount", "-R", str(root))
    # Kept as a plain directory: a lower layer may sit on any file system, an upper one not on overlayfs.
    run("cp", "-a", str(build / "upper"), str(IMAGE / "upper"))
    run("umount", str(build))
    marker.write_text(stamp)
    return IMAGE / "upper"


def overlay_root(top: Path, lower: str) -> Path:
    """A root filesystem at `top`/root: an overlay over `lower` (colon-separated layers) whose changes go to a
    tmpfs at `top`, with the machine's /proc and /dev."""
    writable(top)
    for part in ("upper", "work", "root"):
        (top / part).mkdir(parents=True)
    root = top / "root"
    run("mount", "-t", "overlay", "overlay", "-o",
        f"lowerdir={lower},upperdir={top / 'upper'},workdir={top / 'work'}", str(root))  # fmt: skip
    run("mount", "-t", "proc", "proc", str(root / "proc"))
    run("mount", "--rbind", "/dev", str(root / "dev"))
    return root


def writable(path: Path) -> None:
    """A tmpfs at `path` (in this process's own mount namespace) for an overlay's upper and work directories:
    they cannot be on overlayfs, which is what /tmp and /var/tmp are on a machine that itself runs in a
    layered root (the fresh-Debian check's)."""
    path.mkdir(parents=True, exist_ok=True)
    run("mount", "-t", "tmpfs", "tmpfs", str(path))


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
            root = overlay_root(top, f"{image}:{BASE}")
            (root / str(self.exchange).lstrip("/")).mkdir(parents=True)
            run("mount", "--bind", str(self.exchange), str(root / str(self.exchange).lstrip("/")))
            (root / "etc" / "hostname").write_text(name + "\n")
            # No init system runs here: invoke-rc.d (the package's scripts) acts only if policy-rc.d allows it.
            policy = root / "usr" / "sbin" / "policy-rc.d"
            policy.write_text("#!/bin/sh\n# This host's services are managed through their sysv scripts.\nexit 0\n")
            policy.chmod(0o755)
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

    def run_in(self, name: str, *command: str) -> subprocess.CompletedProcess[str]:
        """A command inside a host (its namespace and root), as root with Debian's PATH."""
        return subprocess.run(
            ["ip", "netns", "exec", self.router(name).namespace, "sh", "-c",
             'mount --rbind /sys "$0/sys" && exec chroot "$0" "$@"', str(self.roots[name]), *command],
            capture_output=True, text=True, timeout=120, check=False,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive"},
        )  # fmt: skip

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
    pykeepalived_deb: {deb}
  children:
    directors:
      hosts:
{directors}
      vars:
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

    def playbook(self, inventory: Path, *extra_vars: str) -> tuple[int, str]:
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
        # The hosts' services run from their sysv scripts (no init system runs in them); Ansible would guess
        # their service manager from the machine's PID 1, which is not theirs.
        variables = ["ansible_service_mgr=sysvinit", *extra_vars]
        result = subprocess.run(
            [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(PLAYBOOK),
             *(argument for variable in variables for argument in ("-e", variable))],
            capture_output=True, text=True, env=environment, timeout=600, check=False,
        )  # fmt: skip
        return result.returncode, result.stdout + result.stderr


def start_web_server(lab: Lab, router: Router, name: str, workdir: Path) -> None:
    """A web server on a real server, saying who it is."""
    namespace = router.namespace
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


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def remove_workdir(workdir: Path) -> None:
    """Unmount the roots, then delete them: never while a mount (the machine's /dev, /proc) is under them."""
    for name in HOSTS:
        subprocess.run(["umount", "-R", str(workdir / name / "root")], capture_output=True, check=False)
        subprocess.run(["umount", str(workdir / name)], capture_output=True, check=False)
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


class Failed(Exception):
    pass


class HolderWatch:
    """Every set of VIP holders seen, polled every 50 ms from a thread while a step runs."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.seen: set[tuple[str, ...]] = set()
        self.running = True
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while self.running:
            self.seen.add(tuple(router.namespace.rsplit("-", 1)[1] for router in self.lab.holders(VIP)))
            time.sleep(0.05)

    def __enter__(self) -> HolderWatch:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.running = False
        self.thread.join()


def playbook_run(hosts: Hosts, inventory: Path, title: str, *extra_vars: str, expect_failure: bool = False) -> str:
    status, output = hosts.playbook(inventory, *extra_vars)
    counts = recap(output)
    summary = "; ".join(
        f"{host} ok={c['ok']} changed={c['changed']} failed={c['failed']}" for host, c in counts.items()
    )
    print(f"playbook, {title}: exit {status}; {summary}")
    failed = status != 0 or any(c["failed"] for c in counts.values())
    if set(counts) != set(HOSTS) or failed != expect_failure:
        print(output)
        raise Failed(f"playbook, {title}")
    return output


def daemon_pids(hosts: Hosts, name: str) -> list[int]:
    """The daemon's parent processes in a director: exactly one is expected."""
    pids = subprocess.run(["ip", "netns", "pids", hosts.router(name).namespace], capture_output=True, text=True)
    return [int(pid) for pid in pids.stdout.split() if Path(f"/proc/{pid}/comm").read_text().strip() == "pykeepalived"]


def processes(hosts: Hosts, name: str) -> list[str]:
    """What runs in a host's namespace (for the failure messages)."""
    found = []
    listing = subprocess.run(["ip", "netns", "pids", hosts.router(name).namespace], capture_output=True, text=True)
    for pid in listing.stdout.split():
        with contextlib.suppress(OSError):
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            found.append(f"{pid} {Path(f'/proc/{pid}/comm').read_text().strip()}: {command}")
    return found


def crash_daemon(hosts: Hosts, name: str) -> None:
    """A director's daemon killed as in a crash: its whole process group at once (the daemon made it as it
    daemonized), for a child must not outlive its parent for a moment: it would get the SIGTERM it asked for
    at its parent's death (PR_SET_PDEATHSIG) and stop cleanly."""
    for pid in daemon_pids(hosts, name):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(os.getpgid(pid), signal.SIGKILL)


def check_client(lab: Lab, through: str) -> None:
    # Both real servers healthy in the checker (HTTP_GET every 2 s) before counting.
    time.sleep(5)
    answers = client_answers(lab, 20)
    counts = ", ".join(f"{answers.count(name)} from {name}" for name in sorted(set(answers)))
    print(f"client, 20 requests to {VIP} through {through}: {counts}")
    if set(answers) != {"web1", "web2"}:
        raise Failed("the client did not reach both real servers")


def scenario(hosts: Hosts, deb: Path, upgrade: Path) -> None:
    lab = hosts.lab
    for name in ("web1", "web2"):
        start_web_server(lab, hosts.router(name), name, hosts.workdir)
    inventory = hosts.inventory(deb)
    playbook_run(hosts, inventory, "run 1")
    output = playbook_run(hosts, inventory, "run 2")
    if any(count["changed"] for count in recap(output).values()):
        print(output)
        raise Failed("the second run changed something")
    for name in ("web1", "web2"):
        prepared = hosts.run_in(name, "pykeepalivedctl", "realserver", "check", "--vip", VIP)
        print(f"{name}, pykeepalivedctl realserver check: {prepared.stdout.strip()}")
        if prepared.returncode != 0:
            raise Failed(f"{name} is not prepared as a DR real server")
    master, backup = hosts.router("lb1"), hosts.router("lb2")
    if not wait_until(lambda: lab.holders(VIP) == [master], 20):
        raise Failed(f"lb1 does not hold {VIP} alone: {[r.namespace for r in lab.holders(VIP)]}")
    first_pids = {name: daemon_pids(hosts, name) for name in ("lb1", "lb2")}
    print(f"lb1 holds {VIP}; one daemon in each director: {first_pids}")
    if any(len(pids) != 1 for pids in first_pids.values()):
        raise Failed("not one daemon per director")
    check_client(lab, "lb1")

    # The pair the role rendered, judged together by the project's cluster lint (rules and scenarios).
    configs = [str(hosts.roots[name] / "etc" / "keepalived" / "keepalived.conf") for name in ("lb1", "lb2")]
    lint = subprocess.run([sys.executable, "-m", "pykeepalived.cli.ctl", "lint", *configs, "-i", "lb1", "-i", "lb2"],
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    print(f"pykeepalivedctl lint of the two rendered files: exit {lint.returncode}, {lint.stdout.splitlines()[-1]}")
    if lint.returncode != 0:
        print(lint.stdout + lint.stderr)
        raise Failed("the rendered pair does not pass the lint")

    config = hosts.roots["lb1"] / "etc" / "keepalived" / "keepalived.conf"
    before = config.read_text()
    with HolderWatch(lab) as watch:
        output = playbook_run(hosts, inventory, "a VRID out of range", "pykeepalived_vrid=300", expect_failure=True)
    # pykeepalived -t's message, from the failed task's "stderr".
    refusal = next(iter(re.findall(r'"stderr": "([^"]*virtual_router_id[^"]*)"', output)), "")
    print(f"  refused by validate (pykeepalived -t): {refusal.encode().decode('unicode_escape').strip()}")
    if config.read_text() != before or watch.seen != {("r1",)} or not refusal:
        raise Failed(f"the refused file changed something: holders seen {watch.seen}")
    print("  the running configuration stayed, lb1 held the VIP throughout")

    renamed = "pykeepalived_router_id=director-{{ inventory_hostname }}"
    with HolderWatch(lab) as watch:
        output = playbook_run(hosts, inventory, "a changed router_id", renamed)
    reloaded = output.count("RUNNING HANDLER [../../deploy/ansible/roles/pykeepalived : Reload pykeepalived]")
    pids = {name: daemon_pids(hosts, name) for name in ("lb1", "lb2")}
    print(f"  handler Reload run: {reloaded}; holders seen {sorted(watch.seen)}; daemons {pids}")
    if reloaded != 1 or watch.seen != {("r1",)} or pids != first_pids:
        raise Failed("the change did not reload in place")

    with HolderWatch(lab) as watch:
        playbook_run(hosts, inventory, f"upgrade to {upgrade.name}", renamed, f"pykeepalived_deb={upgrade}")
    pids = {name: daemon_pids(hosts, name) for name in ("lb1", "lb2")}
    versions = {name: (hosts.roots[name] / "var" / "lib" / "dpkg" / "status").read_text() for name in ("lb1", "lb2")}
    upgraded = all(upgrade.name.split("_")[1] in text for text in versions.values())
    print(f"  new daemons {pids}; holders seen during the upgrade {sorted(watch.seen)}")
    if (
        not upgraded
        or watch.seen != {("r1",)}
        or any(len(pids[name]) != 1 or pids[name] == first_pids[name] for name in pids)
    ):
        for name in ("lb1", "lb2"):
            print(f"  {name}: " + "; ".join(processes(hosts, name)))
        raise Failed("the upgrade moved the VIP or did not restart the daemons")
    with HolderWatch(lab) as watch:
        check_client(lab, "lb1 after the upgrade")
    if watch.seen != {("r1",)}:
        raise Failed(f"after the upgrade, holders seen {sorted(watch.seen)}")

    crash_daemon(hosts, "lb1")
    killed = time.monotonic()
    if not wait_until(lambda: lab.holders(VIP) == [backup], 15):
        raise Failed(f"after lb1's daemon was killed: holders {[r.namespace for r in lab.holders(VIP)]}")
    print(f"lb1's daemon killed: lb2 holds {VIP} alone {time.monotonic() - killed:.1f} s later")
    check_client(lab, "lb2")

    playbook_run(hosts, inventory, "again, lb1's service started", renamed, f"pykeepalived_deb={upgrade}")
    if not wait_until(lambda: lab.holders(VIP) == [master], 20):
        raise Failed(f"lb1 did not take {VIP} back: {[r.namespace for r in lab.holders(VIP)]}")
    time.sleep(2)
    started = time.monotonic()
    removal = hosts.run_in("lb1", "apt-get", "remove", "-y", "-q", "pykeepalived")
    took = time.monotonic() - started
    moved = wait_until(lambda: lab.holders(VIP) == [backup], 1.5)
    status = hosts.run_in("lb1", "dpkg-query", "-W", "-f=${Status}", "pykeepalived").stdout
    left = daemon_pids(hosts, "lb1")
    print(f"apt-get remove pykeepalived on lb1: exit {removal.returncode} after {took:.1f} s, {status}; "
          f"lb2 held {VIP} alone {time.monotonic() - started:.1f} s after it started; "
          f"daemons left on lb1: {left}")  # fmt: skip
    if removal.returncode != 0 or not moved or left or "config-files" not in status:
        print(removal.stdout + removal.stderr)
        raise Failed("the removal did not stop lb1's daemon cleanly (a kill would leave the VIP 3.6 s)")


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: ansible_lab.py DEB UPGRADE_DEB", file=sys.stderr)
        return 2
    deb, upgrade = (Path(argument).resolve() for argument in sys.argv[1:])
    workdir = Path(tempfile.mkdtemp(prefix="pykeepalived-ansible-"))
    try:
        with lab_hosts(workdir) as hosts:
            scenario(hosts, deb, upgrade)
    except Failed as failure:
        print(f"FAIL: {failure}")
        return 1
    finally:
        remove_workdir(workdir)
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
