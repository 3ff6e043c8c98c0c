#!/usr/bin/env bash
# Builds one Go command (helm, promtool) from its module through the Go module
# proxy into a cache path keyed by version. Never writes into the repository.
#
# Inputs (environment; the pins live in src/devcluster/versions.ts, the rest in src/devcluster/go-tools.ts):
#   TOOL_MODULE   e.g. helm.sh/helm/v3
#   TOOL_VERSION  e.g. v3.22.0
#   TOOL_PACKAGE  e.g. helm.sh/helm/v3/cmd/helm
#   TOOL_LDFLAGS  extra -ldflags (version stamps)
#   TOOL_TAGS     comma-separated build tags (may be empty)
#   OUT_FILE      the binary to write
set -euo pipefail

die() { echo "build-go-tool: $*" >&2; exit 1; }
: "${TOOL_MODULE:?}" "${TOOL_VERSION:?}" "${TOOL_PACKAGE:?}" "${OUT_FILE:?}"
command -v go >/dev/null 2>&1 || die "no Go toolchain on PATH: install Go >= 1.26 (https://go.dev/doc/install) and re-run"

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod
work="${OUT_FILE}.work"
rm -rf "$work" && mkdir -p "$work" && cd "$work"
# A module of our own that requires the tool's: its replace and exclude lines
# do not apply here, which `go install pkg@version` would refuse outright.
go mod init maroonedpods.local/tool-build >/dev/null 2>&1
go get "${TOOL_PACKAGE}@${TOOL_VERSION}"
echo "build-go-tool: building ${TOOL_PACKAGE}@${TOOL_VERSION}" >&2
go build -trimpath -tags "${TOOL_TAGS:-}" -ldflags "-s -w ${TOOL_LDFLAGS:-}" -o "${OUT_FILE}.tmp" "$TOOL_PACKAGE"
mv "${OUT_FILE}.tmp" "$OUT_FILE"
cd / && rm -rf "$work"
echo "build-go-tool: ${OUT_FILE} ready" >&2
