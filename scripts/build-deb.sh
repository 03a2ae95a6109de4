#!/usr/bin/env bash
# Build the Debian package pykeepalived_VERSION_all.deb with Debian's tooling (debhelper, dh-python's
# pybuild) from this repository's files as they are in the work tree, into dist/ (or OUTDIR).
#   scripts/build-deb.sh [OUTDIR]
# PYKEEPALIVED_DEB_VERSION=V gives the package version V instead of debian/changelog's (the upgrade tests
# build two versions of the same code).
# Needs (Debian 12): debhelper dh-python pybuild-plugin-pyproject help2man python3-all python3-setuptools,
# and the runtime dependencies (help2man runs the commands): python3-pyroute2 python3-nftables
# python3-prometheus-client python3-dnspython python3-aiosmtplib. `scripts/build-deb.sh --install-build-deps`
# installs them first (root).
set -euo pipefail
cd "$(dirname "$0")/.."
repository=$PWD

if [ "${1:-}" = --install-build-deps ]; then
    shift
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends build-essential debhelper dh-python pybuild-plugin-pyproject \
        help2man python3-all python3-setuptools python3-pyroute2 python3-nftables python3-prometheus-client \
        python3-dnspython python3-aiosmtplib >/dev/null
fi
outdir=$(realpath -m "${1:-dist}")

# The package's version is the project's: debian/changelog names it too.
project_version=$(/usr/bin/python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
changelog_version=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
if [ "$project_version" != "$changelog_version" ]; then
    echo "build-deb.sh: pyproject.toml says $project_version, packaging/debian/changelog $changelog_version" >&2
    exit 1
fi

work=$(mktemp -d /tmp/pykeepalived-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
source="$work/pykeepalived"
mkdir -p "$source"
# The work tree's files that git tracks or would track: nothing of .venv, caches or earlier builds.
git ls-files -z --cached --others --exclude-standard -- pyproject.toml README.md src deploy packaging \
    | xargs -0 cp --parents -t "$source"
mv "$source/packaging/debian" "$source/debian"
if [ -n "${PYKEEPALIVED_DEB_VERSION:-}" ]; then
    sed -i "1s/^pykeepalived ([^)]*)/pykeepalived ($PYKEEPALIVED_DEB_VERSION)/" "$source/debian/changelog"
fi

# Debian's python3 and tools, not a python earlier on PATH (pyenv, a virtual environment).
(cd "$source" && PATH=/usr/sbin:/usr/bin:/sbin:/bin dpkg-buildpackage -b -us -uc --no-pre-clean) >"$work/build.log" 2>&1 || {
    tail -n 40 "$work/build.log" >&2
    echo "build-deb.sh: dpkg-buildpackage failed (the whole log was $work/build.log)" >&2
    exit 1
}
mkdir -p "$outdir"
deb=$(find "$work" -maxdepth 1 -name 'pykeepalived_*_all.deb')
cp "$deb" "$outdir/"
echo "$outdir/$(basename "$deb")"
