#!/usr/bin/env bash
# The action's install step: puts the kpush release binary for this runner on PATH, after
# checking it against the release's SHA256SUMS.
#
# KPUSH_VERSION           release tag (v0.1.0); empty: the action's own ref; `preinstalled`:
#                         use the kpush already on PATH
# KPUSH_ACTION_REF        the ref the workflow used the action at (`uses: ...@v0.1.0`)
# KPUSH_ACTION_REPOSITORY owner/name of the action, whose releases carry the binaries
# KPUSH_DOWNLOAD_BASE     where the release tags live (default: GitHub's releases download URL)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

version="${KPUSH_VERSION:-}"
if [[ "$version" == preinstalled ]]; then
  found="$(command -v kpush)" || fail 1 "version: preinstalled, but there is no kpush on PATH"
  echo "using $found ($(kpush --version))"
  exit 0
fi
if [[ -z "$version" ]]; then
  version="${KPUSH_ACTION_REF:-}"
fi
if [[ ! "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]]; then
  fail 1 "cannot tell which kpush release to install from '${version}': use the action at a release tag (uses: ...@v0.1.0) or set the version input"
fi

case "${RUNNER_OS:-$(uname -s)}/${RUNNER_ARCH:-$(uname -m)}" in
  Linux/X64 | Linux/x86_64) target=x86_64-unknown-linux-gnu ;;
  Linux/ARM64 | Linux/aarch64) target=aarch64-unknown-linux-gnu ;;
  macOS/X64 | Darwin/x86_64) target=x86_64-apple-darwin ;;
  macOS/ARM64 | Darwin/arm64) target=aarch64-apple-darwin ;;
  *) fail 1 "no kpush release for ${RUNNER_OS:-$(uname -s)}/${RUNNER_ARCH:-$(uname -m)}; use the container image (uses: docker://...)" ;;
esac

base="${KPUSH_DOWNLOAD_BASE:-${GITHUB_SERVER_URL:-https://github.com}/${KPUSH_ACTION_REPOSITORY:?the action repository is unknown}/releases/download}"
asset="kpush-${version#v}-${target}.tar.gz"
dir="${RUNNER_TEMP:-$(mktemp -d)}/kpush-${version}"
mkdir -p "$dir"

download() {
  curl --fail --silent --show-error --location --retry 3 --output "$2" "$1" \
    || fail 1 "cannot download $1"
}
download "$base/$version/SHA256SUMS" "$dir/SHA256SUMS"
download "$base/$version/$asset" "$dir/$asset"

expected="$(awk -v f="$asset" '$2 == f || $2 == "*" f { print $1 }' "$dir/SHA256SUMS")"
[[ -n "$expected" ]] || fail 1 "$asset is not listed in the release's SHA256SUMS"
if command -v sha256sum >/dev/null; then
  actual="$(sha256sum "$dir/$asset" | awk '{print $1}')"
else
  actual="$(shasum -a 256 "$dir/$asset" | awk '{print $1}')"
fi
[[ "$actual" == "$expected" ]] \
  || fail 1 "checksum mismatch for $asset: expected $expected, got $actual; not installing it"

tar -xzf "$dir/$asset" -C "$dir"
[[ -x "$dir/kpush" ]] || fail 1 "$asset holds no kpush binary"
echo "$dir" >>"${GITHUB_PATH:?GITHUB_PATH is not set}"
echo "installed kpush $version ($target), sha256 $actual"
