#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-scheduler, kube-controller-manager and kwok
# from their Go modules (through the Go module proxy) into a cache directory
# keyed by version. Reuses what is already there; never writes into the repo.
#
# Inputs (environment; the pinned versions live in src/devcluster/versions.ts):
#   KUBERNETES_VERSION  e.g. v1.35.4
#   ETCD_VERSION        e.g. v3.6.16
#   KWOK_VERSION        e.g. v0.7.0
#   OUT_DIR             where the binaries go (one directory per version set)
# Optional, for other callers of the same build method (the node VM image
# builds kubelet and kubeadm with COMPONENTS=kubernetes KUBERNETES_COMMANDS="kubelet kubeadm"):
#   COMPONENTS          which of "etcd kubernetes kwok" to build (default: all three)
#   KUBERNETES_COMMANDS which k8s.io/kubernetes/cmd/* to build (default: the control plane's three)
set -euo pipefail

die() { echo "build-control-plane: $*" >&2; exit 1; }

COMPONENTS="${COMPONENTS:-etcd kubernetes kwok}"
KUBERNETES_COMMANDS="${KUBERNETES_COMMANDS:-kube-apiserver kube-scheduler kube-controller-manager}"
wants() { case " $COMPONENTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

: "${KUBERNETES_VERSION:?KUBERNETES_VERSION is required (e.g. v1.35.4)}"
if wants etcd; then : "${ETCD_VERSION:?ETCD_VERSION is required (e.g. v3.6.16)}"; fi
if wants kwok; then : "${KWOK_VERSION:?KWOK_VERSION is required (e.g. v0.7.0)}"; fi
: "${OUT_DIR:?OUT_DIR is required}"

command -v go >/dev/null 2>&1 || die "no Go toolchain on PATH: install Go >= 1.25 (https://go.dev/doc/install) and re-run"

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod
work_root="${OUT_DIR}.work"
mkdir -p "$OUT_DIR" "$work_root"

log() { echo "build-control-plane: $*" >&2; }
have() { [ -x "$OUT_DIR/$1" ]; }

build_kubernetes() {
  local dir="$work_root/kubernetes" minor_patch major minor
  minor_patch="${KUBERNETES_VERSION#v1.}"          # 35.4
  major=1 minor="${minor_patch%%.*}"
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  go mod init maroonedpods.local/kubernetes-build >/dev/null 2>&1
  # k8s.io/kubernetes requires its staging modules at v0.0.0; point each at its
  # published tag, using the list from that release's own go.mod.
  local upstream_mod
  upstream_mod="$(go mod download -json "k8s.io/kubernetes@${KUBERNETES_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')"
  [ -f "$upstream_mod" ] || die "could not download k8s.io/kubernetes@${KUBERNETES_VERSION} go.mod"
  sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$upstream_mod" | while read -r mod; do
    go mod edit -replace "${mod}=${mod}@v0.${minor_patch}"
  done
  local cmds
  read -r -a cmds <<<"$KUBERNETES_COMMANDS"
  local pkgs=() c
  for c in "${cmds[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c@${KUBERNETES_VERSION}"); done
  go get "${pkgs[@]}"
  local build_date; build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  local ld="" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=${KUBERNETES_VERSION} -X $p.gitMajor=${major} -X $p.gitMinor=${minor}"
    ld+=" -X $p.gitTreeState=clean -X $p.buildDate=${build_date}"
  done
  for c in "${cmds[@]}"; do
    have "$c" && continue
    log "building $c ${KUBERNETES_VERSION}"
    go build -trimpath -ldflags "-s -w${ld}" -o "$OUT_DIR/$c.tmp" "k8s.io/kubernetes/cmd/$c"
    mv "$OUT_DIR/$c.tmp" "$OUT_DIR/$c"
  done
}

build_etcd() {
  local dir="$work_root/etcd"
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  go mod init maroonedpods.local/etcd-build >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@${ETCD_VERSION}"
  log "building etcd ${ETCD_VERSION}"
  go build -trimpath -ldflags "-s -w" -o "$OUT_DIR/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$OUT_DIR/etcd.tmp" "$OUT_DIR/etcd"
}

build_kwok() {
  log "building kwok ${KWOK_VERSION}"
  local gobin="$work_root/kwok-bin"
  mkdir -p "$gobin"
  GOBIN="$gobin" GOFLAGS='' go install -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION}" "sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}"
  mv "$gobin/kwok" "$OUT_DIR/kwok"
}

have_kubernetes() {
  local c
  for c in $KUBERNETES_COMMANDS; do have "$c" || return 1; done
}

if wants etcd; then have etcd || build_etcd; fi
if wants kubernetes; then have_kubernetes || build_kubernetes; fi
if wants kwok; then have kwok || build_kwok; fi
rm -rf "$work_root"
log "binaries ready in $OUT_DIR"
