#!/usr/bin/env bash
# Makes the pinned Pulumi CLI and its Python language host available in .tools/bin.
#  1. a `pulumi` of the pinned version already on PATH (e.g. Pulumi's official installer) is used;
#  2. otherwise the CLI (tools/pulumi/go.mod) and the language host (tools/pulumi/languagehost/go.mod)
#     are built from the Go module proxy once per pin and cached outside the repo, so fresh clones
#     copy them in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

pin=$(sed -n 's|^\s*github.com/pulumi/pulumi/pkg/v3 v\([0-9.]*\)$|\1|p' tools/pulumi/go.mod)
[ -n "$pin" ] || { echo "setup-pulumi: no pulumi/pkg/v3 pin in tools/pulumi/go.mod" >&2; exit 1; }
host_pin=$(sed -n 's|^\s*github.com/pulumi/pulumi/sdk/v3 v\([0-9.]*\) // indirect$|\1|p' \
  tools/pulumi/languagehost/go.mod)
[ -n "$host_pin" ] || { echo "setup-pulumi: no pulumi/sdk/v3 in tools/pulumi/languagehost/go.mod" >&2; exit 1; }
bin=.tools/bin
# The engine (since v3.221) runs policy packs through the language host: no pulumi-analyzer-policy-python.
helpers=(pulumi-language-python-exec pulumi-resource-pulumi-python)

has_pin() { [ -x "$1" ] && [ "$("$1" version 2>/dev/null)" = "v$pin" ]; }
complete() { has_pin "$1/pulumi" && [ -x "$1/pulumi-language-python" ] \
  && for h in "${helpers[@]}"; do [ -x "$1/$h" ] || return 1; done; }

if complete "$bin"; then echo "pulumi v$pin: ready in $bin"; exit 0; fi
mkdir -p "$bin"
rm -f "$bin"/pulumi*

# 1. An installed CLI of the pinned version, with its language host beside it.
if onpath=$(command -v pulumi) && [ "$(dirname "$(readlink -f "$onpath")")" != "$(readlink -f "$bin")" ] \
   && has_pin "$onpath"; then
  dir=$(dirname "$(readlink -f "$onpath")")
  if complete "$dir"; then
    for f in pulumi pulumi-language-python "${helpers[@]}"; do ln -sfn "$dir/$f" "$bin/$f"; done
    echo "pulumi v$pin: using the installed CLI in $dir"; exit 0
  fi
  echo "setup-pulumi: $onpath is v$pin but its directory lacks the Python language host; building" >&2
fi

# 2. Build from the Go module proxy into a cache keyed by the pin and both go.sum files. Every
#    module must match its go.sum line (-mod=readonly), which `go mod tidy` checked against the Go
#    checksum database when it wrote it.
command -v go >/dev/null || { echo "setup-pulumi: Go is needed to build the Pulumi CLI (or install pulumi v$pin)" >&2; exit 1; }
key=$(cat tools/pulumi/go.sum tools/pulumi/languagehost/go.sum | sha256sum | cut -c1-12)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/partilha/pulumi/v$pin-$key
# build DIR VERSION PACKAGE: one command of the module in DIR, `version` reporting VERSION.
build() {
  (cd "$1" && GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -tags osusergo,grpcnotrace \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$2" -o "$tmp/" "$3")
}
if ! complete "$cache"; then
  echo "pulumi v$pin: building from the Go module proxy (first time only, several minutes)"
  tmp=$(mktemp -d "${cache}.tmp.XXXXXX" 2>/dev/null || { mkdir -p "$(dirname "$cache")"; mktemp -d "${cache}.tmp.XXXXXX"; })
  trap 'rm -rf "$tmp"' EXIT
  build tools/pulumi "$pin" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  build tools/pulumi/languagehost "$host_pin" github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3
  # The Python runtime's helper scripts ship in the CLI's sdk module; the module cache is read-only.
  sdk=$(cd tools/pulumi && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
  cp "$sdk/python/cmd/pulumi-language-python-exec" "$sdk/python/dist/pulumi-resource-pulumi-python" "$tmp/"
  chmod 0755 "$tmp"/*
  rm -rf "$cache"; mv "$tmp" "$cache"; trap - EXIT
fi
cp -f "$cache"/* "$bin/"
complete "$bin" || { echo "setup-pulumi: $bin/pulumi does not report v$pin" >&2; exit 1; }
"$bin/pulumi" policy analyze --help > /dev/null \
  || { echo "setup-pulumi: $bin/pulumi has no \`policy analyze\`" >&2; exit 1; }
echo "pulumi v$pin: built into $bin"
