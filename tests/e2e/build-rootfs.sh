#!/bin/sh
# Build (once) the Debian bookworm tree the end-to-end test boots under systemd-nspawn.
#
# The tree is cached at $STUDYBUDDY_E2E_CACHE (default /var/cache/studybuddy-e2e/root) and is
# rebuilt only when missing or when this script's package list changes. Everything the
# playbook will need from Debian is installed here, because the booted container has no
# route to a mirror: Ansible's apt tasks then find their packages already present.
set -eu

CACHE="${STUDYBUDDY_E2E_CACHE:-/var/cache/studybuddy-e2e}"
ROOT="$CACHE/root"
MIRROR="${STUDYBUDDY_E2E_MIRROR:-http://deb.debian.org/debian}"
PACKAGES="systemd systemd-sysv dbus libpam-systemd openssh-server python3 python3-apt sudo \
iproute2 ca-certificates polkitd man-db procps less openssl \
rabbitmq-server nginx tesseract-ocr tesseract-ocr-heb"
STAMP="$(printf '%s\n%s\n' "$MIRROR" "$PACKAGES" | sha256sum | cut -c1-16)"

if [ -f "$ROOT/.studybuddy-e2e-$STAMP" ]; then
    echo "rootfs cache is current: $ROOT"
    exit 0
fi

mkdir -p "$CACHE"
rm -rf "$ROOT.tmp"
debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus bookworm "$ROOT.tmp" "$MIRROR"

# Keep services from starting inside the chroot while packages are installed.
printf '#!/bin/sh\nexit 101\n' > "$ROOT.tmp/usr/sbin/policy-rc.d"
chmod 0755 "$ROOT.tmp/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$ROOT.tmp/etc/resolv.conf"
for fs in proc sys dev; do mount --bind "/$fs" "$ROOT.tmp/$fs"; done
trap 'for fs in dev sys proc; do umount -l "$ROOT.tmp/$fs" 2>/dev/null || true; done' EXIT
chroot "$ROOT.tmp" apt-get update
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive chroot "$ROOT.tmp" apt-get install -y --no-install-recommends $PACKAGES
chroot "$ROOT.tmp" apt-get clean
for fs in dev sys proc; do umount -l "$ROOT.tmp/$fs"; done
trap - EXIT
rm -f "$ROOT.tmp/usr/sbin/policy-rc.d" "$ROOT.tmp/etc/resolv.conf"

echo studybuddy-e2e > "$ROOT.tmp/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 studybuddy-e2e\n' > "$ROOT.tmp/etc/hosts"
# The container is a disposable test host: root logs in with the key the test installs.
mkdir -p "$ROOT.tmp/root/.ssh"
chmod 0700 "$ROOT.tmp/root/.ssh"
# Only the services the test needs: no getty on a console nobody reads, no timers that fetch.
chroot "$ROOT.tmp" systemctl mask console-getty.service getty@tty1.service \
    apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer >/dev/null 2>&1 || true
chroot "$ROOT.tmp" systemctl enable ssh.service >/dev/null

touch "$ROOT.tmp/.studybuddy-e2e-$STAMP"
rm -rf "$ROOT"
mv "$ROOT.tmp" "$ROOT"
echo "rootfs built: $ROOT"
