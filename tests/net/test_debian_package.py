"""The Debian package as scripts/build-deb.sh builds it: its contents, its man pages against the code's
tables, its unit through `systemd-analyze verify`, and the packaged daemon run by Debian's python3 and
libraries in namespaces as its maintainer scripts drive it (an upgrade's kill and restart keeps the VIP
where it is; a stop hands it over). The install on a pristine Debian 12 beside keepalived is
packaging/fresh-debian-check.sh's (README: "Production install")."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pykeepalived.cli.daemon import build_parser
from pykeepalived.config.keywords import keyword_reference

REPOSITORY = Path(__file__).resolve().parents[2]
DEBIAN_LIBRARIES = ["python3-pyroute2", "python3-nftables", "python3-prometheus-client", "python3-dnspython",
                    "python3-aiosmtplib"]  # fmt: skip


@dataclass(frozen=True)
class Package:
    deb: Path
    root: Path  # the package's files, unpacked
    control: Path  # its control files (control, conffiles, maintainer scripts)

    def text(self, relative: str) -> str:
        return (self.root / relative.lstrip("/")).read_text()


def installed(package: str) -> bool:
    result = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
    return result.stdout == "install ok installed"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Package]:
    missing = [name for name in ("debhelper", "dh-python", "pybuild-plugin-pyproject", "help2man", "python3-all",
                                 *DEBIAN_LIBRARIES) if not installed(name)]  # fmt: skip
    assert not missing, f"the package's build needs: apt-get install {' '.join(missing)} (scripts/run.sh does)"
    out = tmp_path_factory.mktemp("deb")
    build = subprocess.run(["bash", str(REPOSITORY / "scripts" / "build-deb.sh"), str(out)],
                           capture_output=True, text=True, timeout=300)  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    deb = Path(build.stdout.strip().splitlines()[-1])
    root, control = out / "root", out / "control"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    subprocess.run(["dpkg-deb", "-e", str(deb), str(control)], check=True)
    yield Package(deb, root, control)


def test_contents(package: Package) -> None:
    listing = subprocess.run(["dpkg-deb", "-c", str(package.deb)], capture_output=True, text=True, check=True)
    files = {line.split()[-1].removeprefix(".") for line in listing.stdout.splitlines() if not line.startswith("d")}
    for path in ("/usr/sbin/pykeepalived", "/usr/sbin/pyipvsadm", "/usr/bin/pykeepalivedctl",
                 "/lib/systemd/system/pykeepalived.service", "/etc/default/pykeepalived",
                 "/usr/share/man/man8/pykeepalived.8.gz", "/usr/share/man/man8/pykeepalivedctl.8.gz",
                 "/usr/share/man/man8/pyipvsadm.8.gz", "/usr/share/man/man5/pykeepalived.conf.5.gz",
                 "/usr/share/pykeepalived/keepalived.conf.sample", "/etc/init.d/pykeepalived",
                 "/usr/lib/python3/dist-packages/pykeepalived/cli/daemon.py"):  # fmt: skip
        assert path in files, path
    # The configuration is the operator's (and keepalived's): written by the postinst, never owned by the package.
    assert not any(path.startswith("/etc/keepalived/") for path in files)
    assert (package.control / "conffiles").read_text().split() == [
        "/etc/default/pykeepalived",
        "/etc/init.d/pykeepalived",
    ]
    # Files of Debian's keepalived package are never ours: both install together.
    assert installed("keepalived"), "Debian's keepalived is the reference: scripts/run.sh installs it"
    keepalived_files = subprocess.run(["dpkg", "-L", "keepalived"], capture_output=True, text=True, check=True)
    assert files.isdisjoint(line for line in keepalived_files.stdout.splitlines() if not os.path.isdir(line))

    control = (package.control / "control").read_text()
    depends = next(line for line in control.splitlines() if line.startswith("Depends:"))
    for library in DEBIAN_LIBRARIES:
        assert library in depends, library
    assert "Architecture: all" in control.splitlines()
    for script in ("/usr/sbin/pykeepalived", "/usr/sbin/pyipvsadm", "/usr/bin/pykeepalivedctl"):
        assert package.text(script).startswith("#!/usr/bin/python3\n"), script

    postinst = (package.control / "postinst").read_text()
    prerm = (package.control / "prerm").read_text()
    assert 'kill -KILL "-$group"' in postinst and 'systemctl restart "$UNIT"' in postinst
    assert 'if [ "$1" = configure ] && [ ! -e "$CONFIG" ]; then' in postinst
    assert "deb-systemd-invoke stop pykeepalived.service" in prerm
    # Neither enabled nor started by the installation (it would stop a running keepalived: Conflicts=).
    # (debhelper's "don't enable" snippet re-enables only a unit the administrator had enabled).
    assert "deb-systemd-invoke start" not in postinst
    assert "if deb-systemd-helper debian-installed 'pykeepalived.service'; then" in postinst


def test_lintian_finds_nothing(package: Package) -> None:
    assert shutil.which("lintian"), "lintian is missing: apt-get install lintian (scripts/run.sh does)"
    result = subprocess.run(["lintian", "--fail-on", "error,warning", str(package.deb)],
                            capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert (result.returncode, result.stdout) == (0, ""), result.stdout + result.stderr


def man_page(package: Package, relative: str) -> str:
    text = subprocess.run(["gzip", "-dc", str(package.root / relative)], capture_output=True, text=True, check=True)
    return text.stdout.replace("\\-", "-").replace("\\(aq", "'")


def test_man_pages_come_from_the_codes_tables(package: Package) -> None:
    daemon_page = man_page(package, "usr/share/man/man8/pykeepalived.8.gz")
    assert "Traceback" not in daemon_page
    options = [option for action in build_parser()._actions for option in action.option_strings]
    assert len(options) > 60
    for option in options:
        assert option in daemon_page, option
    conf_page = man_page(package, "usr/share/man/man5/pykeepalived.conf.5.gz")
    keywords = [line.split()[0] for line in keyword_reference()]
    assert len(keywords) > 400
    for keyword in keywords:
        assert f".B {keyword}\n" in conf_page, keyword
    for page in ("pykeepalivedctl.8.gz", "pyipvsadm.8.gz"):
        assert "Traceback" not in man_page(package, f"usr/share/man/man8/{page}"), page


def test_the_installed_unit_verifies(package: Package) -> None:
    tool = shutil.which("systemd-analyze")
    assert tool is not None, "systemd-analyze is missing: install Debian's systemd package"
    unit = package.text("lib/systemd/system/pykeepalived.service")
    assert "ExecStart=/usr/sbin/pykeepalived --dont-fork $DAEMON_ARGS" in unit.splitlines()
    assert "Documentation=man:pykeepalived(8) man:pykeepalived.conf(5) man:keepalived.conf(5)" in unit.splitlines()
    # The package's /usr/sbin and unit directory laid over the machine's in a mount namespace of the test's
    # own: systemd-analyze sees the unit and its command where the package puts them; the machine's stay.
    # It also runs man(1) on every page the unit's Documentation= names.
    overlays = ["/usr/sbin", "/lib/systemd/system", "/usr/share/man/man5", "/usr/share/man/man8"]
    script = " && ".join(
        f"mount -t overlay overlay -o lowerdir={package.root}{directory}:{directory} {directory}"
        for directory in overlays
    )
    script += ' && exec "$@"'
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", tool, "verify",
         "pykeepalived.service"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_the_packaged_daemon_on_debians_libraries(package: Package) -> None:
    # Debian's python3 with the package's files and Debian's pyroute2 (0.7), nothing of the virtual environment.
    site = package.root / "usr" / "lib" / "python3" / "dist-packages"
    environment = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    environment["PYTHONPATH"] = str(site)
    result = subprocess.run(
        ["/usr/bin/python3", str(REPOSITORY / "packaging" / "vrrp_smoke.py"),
         str(package.root / "usr" / "sbin" / "pykeepalived")],
        capture_output=True, text=True, env=environment, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "r2 never became master" in result.stdout
