#!/usr/bin/env bash
# Install the suite under another Python in a Debian root and run the fast tests and `hw4 demo` there.
# Usage (as root): bash scripts/check_python.sh VERSION      e.g.  bash scripts/check_python.sh 3.13
# VERSION picks the Debian release whose python3 it is (3.11 bookworm, 3.13 trixie). The root is built once with
# debootstrap from the mirror this machine's apt already uses and kept in $HW4_PYROOT_DIR (default
# ~/.cache/hw4-pyroots); its venv and pip cache stay there too, so a second run only copies the tree and tests.
# PIP_INDEX_URL and PIP_EXTRA_INDEX_URL, when set, are passed on to pip in the root.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${1:?usage: bash scripts/check_python.sh VERSION (3.11 or 3.13)}
case "$VERSION" in
  3.11) SUITE=bookworm ;;
  3.13) SUITE=trixie ;;
  *) echo "check_python: no Debian release ships Python $VERSION as python3 (try 3.11 or 3.13)" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "check_python: debootstrap and the mount namespace need root" >&2; exit 2; }

# The mirror: $HW4_DEBIAN_MIRROR, else the first non-security Debian URI in this machine's apt sources.
mirror=${HW4_DEBIAN_MIRROR:-$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
  | grep -v '^\s*#' | grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -n1 | tr -d ' ' || true)}
[ -n "$mirror" ] || { echo "check_python: no Debian mirror in /etc/apt; set HW4_DEBIAN_MIRROR" >&2; exit 2; }

ROOT=${HW4_PYROOT_DIR:-$HOME/.cache/hw4-pyroots}/$SUITE

if [ ! -f "$ROOT/.hw4-root-ready" ]; then
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null
  echo "check_python: building a Debian $SUITE root in $ROOT from $mirror (once; several minutes)"
  rm -rf "$ROOT"; mkdir -p "$ROOT"
  debootstrap --variant=minbase --include=python3,python3-venv,python3-dev,ca-certificates,bubblewrap,util-linux,git \
    "$SUITE" "$ROOT" "$mirror" >"$ROOT.debootstrap.log" 2>&1 \
    || { echo "check_python: debootstrap failed; see $ROOT.debootstrap.log" >&2; exit 1; }
  touch "$ROOT/.hw4-root-ready"
fi
have=$("$ROOT/usr/bin/python3" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null \
  || chroot "$ROOT" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
[ "$have" = "$VERSION" ] || { echo "check_python: $SUITE's python3 is $have, not $VERSION" >&2; exit 1; }

cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
# The root trusts what this machine trusts (a proxy's own authority, say): pip there uses the host's CA bundle.
ca=/usr/local/share/hw4-host-ca.crt
cp -L /etc/ssl/certs/ca-certificates.crt "$ROOT$ca" 2>/dev/null || ca=/etc/ssl/certs/ca-certificates.crt

# A fresh copy of the working tree (tracked and untracked files git does not ignore); the venv lives outside it.
rm -rf "$ROOT/src"; mkdir -p "$ROOT/src"
git ls-files -co --exclude-standard -z | xargs -0 -I{} sh -c '[ -e "{}" ] && printf "%s\0" "{}"' \
  | tar --null -T - -cf - | tar -xf - -C "$ROOT/src"

echo "check_python: Python $VERSION ($SUITE): setup, fast tests, demo"
# The checks run in a mount namespace of their own whose / is the root (pivot_root, not chroot): a chrooted process
# may not create user namespaces, so the sandbox tests' user-namespace mechanism would be skipped there, and
# bubblewrap needs / to be a mount point. The namespace's mounts go away with it, however the run ends.
unshare --mount --propagation private -- /bin/bash -euo pipefail -c '
  root=$1; shift
  mount --bind "$root" "$root"
  for fs in proc sys dev; do mkdir -p "$root/$fs"; mount --rbind "/$fs" "$root/$fs"; done
  cd "$root"; mkdir -p .host; pivot_root . .host; cd /
  umount -l /.host
  exec /usr/bin/env -i "$@"
' enter "$ROOT" HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
  PYTHON=python3 HW4_VENV=/opt/hw4-venv PIP_CACHE_DIR=/root/.cache/pip HW4_CACHE_DIR=/root/.cache/hw4 \
  PIP_CERT=$ca SSL_CERT_FILE=$ca REQUESTS_CA_BUNDLE=$ca PIP_DEFAULT_TIMEOUT=180 \
  ${PIP_INDEX_URL:+PIP_INDEX_URL=$PIP_INDEX_URL} ${PIP_EXTRA_INDEX_URL:+PIP_EXTRA_INDEX_URL=$PIP_EXTRA_INDEX_URL} \
  bash -euo pipefail -c '
    cd /src
    bash scripts/setup.sh
    /opt/hw4-venv/bin/python --version
    HW4_VENV=/opt/hw4-venv bash scripts/test.sh -m "not slow"
    HF_HUB_OFFLINE=1 /opt/hw4-venv/bin/hw4 demo
  '
echo "check_python: Python $VERSION passed"
