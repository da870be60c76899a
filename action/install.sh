#!/usr/bin/env bash
# Puts cruddur-infra on PATH for a CI job: the pinned release's binary for this runner, its
# SHA-256 checked, or, when there is no release to fetch (none pinned, none published, an
# unknown platform), a build from this checkout.
#   VERSION   the release tag to fetch (e.g. v0.4.0); empty: build
#   SHA256    the binary archive's expected SHA-256 (pin it in the workflow); empty: the release's
#             SHA256SUMS is trusted (fetched from the same release)
#   REPO      owner/name of the releases (default: GITHUB_REPOSITORY; a composite action has no
#             GITHUB_ACTION_REPOSITORY, so the action passes its `repo` input)
#   DEST      where the binary goes (default: $RUNNER_TEMP/cruddur-infra-bin, else ./cruddur-infra-bin)
#   BASE_URL  the releases' base URL (default https://github.com; a test points it at a file:// dir)
set -euo pipefail
VERSION=${VERSION:-}
SHA256=${SHA256:-}
REPO=${REPO:-${GITHUB_REPOSITORY:-}}
DEST=${DEST:-${RUNNER_TEMP:-$PWD}/cruddur-infra-bin}
BASE_URL=${BASE_URL:-https://github.com}
SRC=${SRC:-$(cd "$(dirname "$0")/.." && pwd)}
mkdir -p "$DEST"

say() { echo "cruddur-infra install: $*" >&2; }

target() {
  case "$(uname -s)/$(uname -m)" in
    Linux/x86_64) echo x86_64-unknown-linux-gnu ;;
    Linux/aarch64 | Linux/arm64) echo aarch64-unknown-linux-gnu ;;
    Darwin/arm64) echo aarch64-apple-darwin ;;
    *) return 1 ;;
  esac
}

sha() { if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi; }

fetch() {
  local t archive url tmp want got
  t=$(target) || { say "no release binary for $(uname -s)/$(uname -m)"; return 1; }
  # From here a pinned release that cannot be fetched is an error: a silent build would hide it.
  archive="cruddur-infra-$VERSION-$t.tar.gz"
  url="$BASE_URL/$REPO/releases/download/$VERSION"
  tmp=$(mktemp -d)
  curl -fsSL --retry 3 -o "$tmp/$archive" "$url/$archive" || { say "no $archive in release $VERSION of $REPO"; exit 1; }
  if [ -n "$SHA256" ]; then
    want=$SHA256
  else
    curl -fsSL --retry 3 -o "$tmp/SHA256SUMS" "$url/SHA256SUMS" || { say "release $VERSION has no SHA256SUMS"; exit 1; }
    want=$(awk -v f="$archive" '$2 == f || $2 == "*"f { print $1 }' "$tmp/SHA256SUMS")
  fi
  got=$(sha "$tmp/$archive")
  if [ -z "$want" ] || [ "$got" != "$want" ]; then
    # A checksum that does not match is an error, never a fallback: the download was tampered
    # with or the pin is wrong.
    say "checksum mismatch for $archive: expected ${want:-(none listed)}, got $got"
    exit 1
  fi
  tar -xzf "$tmp/$archive" -C "$DEST" cruddur-infra
  say "release $VERSION ($t), sha256 $got"
}

if [ -n "$VERSION" ] && [ -z "$REPO" ]; then
  say "VERSION $VERSION but no REPO to fetch it from"
  exit 1
fi
if [ -n "$VERSION" ] && fetch; then
  :
else
  say "building from source (cargo build --release --locked)"
  (cd "$SRC" && cargo build --release --locked --quiet)
  cp "$SRC/target/release/cruddur-infra" "$DEST/"
fi
"$DEST/cruddur-infra" --version >&2
if [ -n "${GITHUB_PATH:-}" ]; then echo "$DEST" >>"$GITHUB_PATH"; fi
echo "$DEST/cruddur-infra"
