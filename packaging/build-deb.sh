#!/bin/sh
# Build the StudyBuddy .deb from the working tree: `make deb` runs this.
#
# 1. fill (or reuse) a wheelhouse with every pinned dependency, checked against its hash;
# 2. stage the sources with packaging/debian as debian/;
# 3. dpkg-buildpackage (dh-virtualenv builds /opt/venvs/studybuddy offline from the wheelhouse);
# 4. lintian, failing on errors.
# The .deb lands in dist/. Needs: dh-virtualenv debhelper python3-dev python3-venv python3-pip
# lintian (see packaging/README.md).
set -eu

TOP="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${STUDYBUDDY_BUILD_CACHE:-/var/cache/studybuddy-build}"
WHEELHOUSE="$CACHE/wheelhouse"
VERSION="$(sed -n 's/^version *= *//p' "$TOP/setup.cfg")"
STAGE="$TOP/build/deb/studybuddy-$VERSION"
export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1

mkdir -p "$WHEELHOUSE" "$TOP/dist"
echo "wheelhouse: $WHEELHOUSE"
# pip asks the index about every requirement even when its file is already here: skip the
# download when the wheelhouse was filled for exactly these requirement files.
WANT="$(cat "$TOP/packaging/requirements.txt" "$TOP/packaging/build-requirements.txt" | sha256sum | cut -c1-64)"
if [ "$(cat "$WHEELHOUSE/.filled-for" 2>/dev/null)" != "$WANT" ]; then
    python3 -m pip download --quiet --require-hashes --no-deps --dest "$WHEELHOUSE" \
        -r "$TOP/packaging/requirements.txt" -r "$TOP/packaging/build-requirements.txt"
    echo "$WANT" > "$WHEELHOUSE/.filled-for"
fi

rm -rf "$TOP/build/deb"
mkdir -p "$STAGE"
for path in studybuddy templates static systemd packaging setup.cfg pyproject.toml \
        config.example.yaml README.md; do
    if [ -e "$TOP/$path" ]; then
        cp -a "$TOP/$path" "$STAGE/"
    fi
done
find "$STAGE" -name __pycache__ -type d -prune -exec rm -rf {} +
rm -rf "$STAGE/packaging/debian"
cp -a "$TOP/packaging/debian" "$STAGE/debian"

cd "$STAGE"
STUDYBUDDY_WHEELHOUSE="$WHEELHOUSE" dpkg-buildpackage -us -uc -b
cd "$TOP"
DEB="build/deb/studybuddy_${VERSION}_amd64.deb"
cp "$DEB" dist/
echo "built dist/$(basename "$DEB")"

if command -v lintian >/dev/null; then
    # --fail-on error: warnings are listed and justified in packaging/README.md.
    lintian --fail-on error --suppress-tags-from-file packaging/lintian-suppressed \
        "build/deb/studybuddy_${VERSION}_amd64.changes"
fi
