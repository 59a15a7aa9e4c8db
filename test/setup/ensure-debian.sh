#!/usr/bin/env bash
# First step of `npm test`: make sure the Debian packages the tests run are installed. As root on Debian, missing
# ones are installed (apt-get update, then install --no-install-recommends). Otherwise it says which are missing and
# carries on: each test whose program is missing then fails with one line naming its package (never a skip).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$here/debian-packages.txt" | grep -v '^$')

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "test setup: not a Debian system; the tests that need ${packages[*]} will fail unless those programs are at their Debian paths"
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "test setup: missing Debian packages (not root, so not installing): ${missing[*]}"
  echo "test setup: install them with: sudo apt-get install -y --no-install-recommends ${missing[*]}"
  exit 0
fi

echo "test setup: installing Debian packages: ${missing[*]}"
log="$(mktemp)"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq >"$log" 2>&1 || ! apt-get install -y --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
  tail -n 30 "$log"
  echo "test setup: apt-get install failed; the tests that need ${missing[*]} will fail"
fi
rm -f "$log"
exit 0
