#!/bin/sh
# Regenerate the pinned, hashed requirements for the Debian package.
#
# Resolved with Debian bookworm's own interpreter (/usr/bin/python3.11, 3.11.2), the one the
# package runs on: some releases need a newer 3.11.x and must not be picked.
set -eu
TOP="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="${STUDYBUDDY_BUILD_CACHE:-/var/cache/studybuddy-build}/pip-tools"
export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1
if [ ! -x "$TOOLS/bin/pip-compile" ]; then
    /usr/bin/python3.11 -m venv "$TOOLS"
    "$TOOLS/bin/pip" install --quiet pip-tools
fi
cd "$TOP"
"$TOOLS/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras \
    --no-emit-index-url --output-file packaging/requirements.txt setup.cfg
"$TOOLS/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras \
    --no-emit-index-url --output-file packaging/build-requirements.txt \
    packaging/build-requirements.in
