#!/bin/sh
# Build (once) the .deb of an earlier release, for the upgrade scenario of the end-to-end run.
#
# Usage: build-previous-deb.sh COMMIT. The commit's tree is exported with `git archive` into
# the cache and built there with its own packaging/build-deb.sh (sharing the wheelhouse), so
# the package is exactly what that release shipped. The result is cached by commit at
# $STUDYBUDDY_E2E_CACHE/previous/<commit>/studybuddy_<version>_amd64.deb and reused, beside that
# release's ansible/ (its playbook installs it); the .deb's path is printed on the last line.
set -eu

COMMIT="$1"
TOP="$(cd "$(dirname "$0")/../.." && pwd)"
CACHE="${STUDYBUDDY_E2E_CACHE:-/var/cache/studybuddy-e2e}"
FULL="$(git -C "$TOP" rev-parse --verify "$COMMIT^{commit}")"
OUT="$CACHE/previous/$FULL"

found="$(ls "$OUT"/studybuddy_*_amd64.deb 2>/dev/null | head -1 || true)"
if [ -n "$found" ] && [ ! -d "$OUT/ansible" ]; then
    git -C "$TOP" archive "$FULL" ansible | tar -x -C "$OUT"
fi
if [ -n "$found" ]; then
    echo "previous release cached: $found"
    echo "$found"
    exit 0
fi

# A short path: pip writes a /bin/sh trampoline instead of a #! line into console scripts when
# the build path makes the interpreter's path too long, and lintian rejects those.
SRC="$CACHE/prev-src"
rm -rf "$SRC"
mkdir -p "$SRC"
git -C "$TOP" archive "$FULL" | tar -x -C "$SRC"
(cd "$SRC" && sh packaging/build-deb.sh)
mkdir -p "$OUT.tmp"
cp "$SRC"/dist/studybuddy_*_amd64.deb "$OUT.tmp/"
cp -a "$SRC/ansible" "$OUT.tmp/ansible"
rm -rf "$OUT" "$SRC"
mv "$OUT.tmp" "$OUT"
found="$(ls "$OUT"/studybuddy_*_amd64.deb | head -1)"
echo "previous release built: $found"
echo "$found"
