#!/usr/bin/env bash
# The package's life on a pristine Debian 12, run as root inside a throw-away root filesystem:
#   ../shared/tools/fresh-debian.sh run --with /work/shared:/root/shared . 'bash packaging/fresh-debian-check.sh'
# Build (installing the build dependencies), install together with Debian's keepalived, check that both
# read the sample configuration, run the packaged daemon in two network namespaces of its own on Debian's
# libraries (VIP held, the upgrade's kill-and-restart keeps it where it is, a stop removes it), upgrade,
# remove and purge. The root filesystem shares the machine's network namespace: policy-rc.d keeps every
# service (keepalived's sysv script included) from starting in it.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n== %s\n' "$*"; }

printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d

step "build"
deb=$(bash scripts/build-deb.sh --install-build-deps dist | tail -n 1)
ls -l "$deb"

step "install with Debian's keepalived"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends "$deb" keepalived 2>&1 | grep -E '^(Setting up|Unpacking) (pykeepalived|keepalived)'
dpkg-query -W -f='${Package} ${Version} ${Status}\n' pykeepalived keepalived
shared=$(comm -12 <(dpkg -L pykeepalived | sort) <(dpkg -L keepalived | sort) | while read -r path; do
    [ -d "$path" ] || echo "$path"; done)
[ -z "$shared" ] || { echo "files owned by both packages: $shared"; exit 1; }
echo "files owned by both packages: none"
command -v pykeepalived pykeepalivedctl pyipvsadm keepalived
ls -l /lib/systemd/system/pykeepalived.service /lib/systemd/system/keepalived.service /etc/default/pykeepalived \
    /etc/keepalived/keepalived.conf /usr/share/man/man8/pykeepalived.8.gz /usr/share/man/man5/pykeepalived.conf.5.gz

step "the sample configuration, read by both"
pykeepalived -t -f /etc/keepalived/keepalived.conf && echo "pykeepalived -t: exit 0"
keepalived -t -f /etc/keepalived/keepalived.conf && echo "keepalived -t: exit 0"
pykeepalived --version
echo "pykeepalivedctl keywords: $(pykeepalivedctl keywords | wc -l) lines"

step "every module imports on Debian's libraries"
python3 - <<'PY'
import importlib, pkgutil
from importlib.metadata import version
import pykeepalived, pyroute2, dns.version, aiosmtplib, prometheus_client, nftables
names = [m.name for m in pkgutil.walk_packages(pykeepalived.__path__, "pykeepalived.")]
for name in names:
    importlib.import_module(name)
print(f"{len(names)} modules from {pykeepalived.__path__[0]}; " + ", ".join(
    f"{name} {version(name)}" for name in ("pyroute2", "dnspython", "aiosmtplib", "prometheus-client")))
PY

step "the installed daemon in two namespaces (advert_int 1)"
python3 packaging/vrrp_smoke.py /usr/sbin/pykeepalived

step "upgrade (the same version again: the postinst's upgrade path)"
dpkg -i "$deb" | grep -E 'Unpacking|Setting up'

step "remove, then purge"
apt-get remove -y -q pykeepalived 2>&1 | grep -E '^Removing'
test -f /etc/keepalived/keepalived.conf && echo "after remove: /etc/keepalived/keepalived.conf kept (keepalived reads it)"
apt-get purge -y -q pykeepalived 2>&1 | grep -E '^Purging'
test ! -e /etc/keepalived/keepalived.conf && echo "after purge: the unchanged sample is gone"
dpkg-query -W -f='${Package} ${Status}\n' keepalived
for command in pykeepalived pyipvsadm pykeepalivedctl; do
    hash -r
    if command -v "$command"; then echo "$command is still installed"; exit 1; fi
done
echo "pykeepalived, pyipvsadm, pykeepalivedctl: gone"
