#!/usr/bin/env bash
# Set up everything pykeepalived needs on Debian 12 (as root), then run one job:
#   scripts/run.sh demo   the main job
#   scripts/run.sh test   the whole test suite, with ruff and mypy --strict
set -euo pipefail
cd "$(dirname "$0")/.."

job="${1:-}"
case "$job" in demo | test) ;; *) echo "usage: $0 demo|test" >&2; exit 2 ;; esac

if [ "$(id -u)" -ne 0 ]; then
    echo "run as root: the tests and the demo build network namespaces" >&2
    exit 2
fi

# Debian packages: Python; iproute2 for the namespace labs; keepalived (the reference the tests compare
# against) and tshark (an independent check of our packets); nftables and libnftables' Python binding
# (the kernel NAT data plane); user-mode-linux, ipvsadm, kmod and a C compiler for the IPVS tests (a
# kernel with IPVS run as a program, and the shim it needs on AMX CPUs); arping (the benches, and the ARP
# probe of `pykeepalivedctl realserver check`), haproxy, nginx and ab for the benches; systemd for
# `systemd-analyze verify` of the shipped unit (it does not run systemd here); debhelper, dh-python,
# help2man, lintian and Debian's Python libraries to build and test the Debian package.
# The keepalived service does not start: Debian's unit requires
# /etc/keepalived/keepalived.conf, and we never write it.
packages=(python3 python3-venv python3-pip keepalived iproute2 tshark openssl nftables python3-nftables
    user-mode-linux ipvsadm kmod gcc libc6-dev arping haproxy nginx-light apache2-utils systemd util-linux mount
    build-essential debhelper dh-python pybuild-plugin-pyproject help2man python3-all python3-setuptools python3-pyroute2
    python3-prometheus-client python3-dnspython python3-aiosmtplib lintian)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
# libnftables' binding (python3-nftables) stays in Debian's dist-packages: pykeepalived loads it from there
# itself (io/nftables_binding.py). Earlier versions of this script linked it into .venv: undo that, so that
# the tests run what a plain `pip install` runs.
site_packages=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
rm -f "$site_packages/debian-packages.pth"
rm -rf .venv/debian-packages

# What the tests run: fail here, by name, rather than in the middle of the suite.
for command in keepalived tshark nft ipvsadm linux.uml gcc modprobe arping ip systemd-analyze unshare mount mknod \
    dpkg-buildpackage help2man lintian; do
    command -v "$command" >/dev/null || { echo "set-up incomplete: '$command' is missing" >&2; exit 1; }
done

case "$job" in
demo)
    exec .venv/bin/pykeepalivedctl lab demo
    ;;
test)
    .venv/bin/ruff check src tests bench
    .venv/bin/ruff format --check src tests bench
    .venv/bin/mypy
    exec .venv/bin/python -m pytest tests -q
    ;;
esac
