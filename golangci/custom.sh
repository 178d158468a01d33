#!/usr/bin/env bash
# Builds a custom golangci-lint v2 with heisen's module plugin (./golangci)
# and prints the binary's path. It does what "golangci-lint custom" does
# with .custom-gcl.yml (docs/golangci-lint.md), with golangci-lint's source
# taken from the Go module proxy instead of a git clone of GitHub: copy the
# source, import the plugin in cmd/golangci-lint/plugins.go, point go.mod at
# the plugin and this repository with replace directives, go mod tidy,
# go build.
#
# The binary is cached under $HEISEN_GCL_CACHE (default: heisen-golangci
# beside Go's build cache, so it lasts as long as that cache does on a
# machine, and is made on a fresh one), keyed by the golangci-lint version,
# the Go version and a hash of the plugin's and the analyzer's sources, so
# a rebuild happens only when one of them changes. Building a new one
# removes the binaries of other keys (about 50 MB each) and what was kept
# beside them ($bin.cache, golangci/check.sh's results cache).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
version=${GOLANGCI_LINT_VERSION:-v2.15.0}
cache=${HEISEN_GCL_CACHE:-$(dirname "$(go env GOCACHE)")/heisen-golangci}
key=$( (go version; cat $(git ls-files golangci vet/filerace go.mod go.sum | grep -v '/testdata/' | sort)) | sha256sum | cut -c1-16)
bin=$cache/golangci-lint-$version-$key
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$cache"
src=$(go mod download -json "github.com/golangci/golangci-lint/v2@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
if [ -z "$src" ] || [ ! -d "$src" ]; then
  echo "custom.sh: go mod download github.com/golangci/golangci-lint/v2@$version gave no source directory" >&2
  exit 1
fi
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cp -R "$src/." "$work/"
chmod -R u+w "$work"
cat >"$work/cmd/golangci-lint/plugins.go" <<'GO'
package main

import (
	_ "github.com/heisen-dev/heisen/golangci"
)
GO
(
  cd "$work"
  go mod edit \
    -require=github.com/heisen-dev/heisen/golangci@v0.0.0 \
    -replace=github.com/heisen-dev/heisen/golangci="$root/golangci" \
    -replace=github.com/heisen-dev/heisen="$root"
  go mod tidy >&2
  go build -trimpath -ldflags "-s -w -X main.version=${version#v}-heisen" -o golangci-lint-heisen ./cmd/golangci-lint >&2
)
# The build directory is private (mktemp -d) and in the cache's directory,
# so this mv renames: a run that checks for $bin sees it whole or not at all.
find "$cache" -maxdepth 1 -name 'golangci-lint-*' ! -name "golangci-lint-$version-$key*" -exec rm -rf {} +
mv "$work/golangci-lint-heisen" "$bin"
echo "$bin"
