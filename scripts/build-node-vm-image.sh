#!/usr/bin/env bash
# Builds the dev VM image of the kubeadm node flavor from Debian bookworm
# packages, without a container engine. src/qemu/image.ts runs its stages in
# order, keys the result and moves it into the cache; each stage also runs by hand:
#
#   build-node-vm-image.sh rootfs ROOTFS   mmdebstrap, trim, the node files, kubelet + kubeadm
#                                          (env NODE_BINARIES: the directory holding them)
#   build-node-vm-image.sh pause OUT       the pause binary from the Kubernetes module's source
#                                          (env KUBERNETES_VERSION, e.g. v1.35.4)
#   build-node-vm-image.sh disk ROOTFS OUT OUT/vmlinuz, OUT/initrd.img, OUT/rootfs.raw (ext4)
#
# Optional: DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR (default deb.debian.org), ROOTFS_SIZE (3G).
set -euo pipefail

die() { echo "build-node-vm-image: $*" >&2; exit 1; }
log() { echo "build-node-vm-image: $*" >&2; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
node_dir="$here/../images/node"
readonly suite=bookworm
readonly mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
readonly security_mirror="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"

# Units a single-use node VM never needs, masked so no preset or package re-enables them:
# package maintenance timers, filesystem scrubs and trims of a throwaway overlay, logins
# (the serial console is the runtime's log, nobody logs in), ifupdown (networkd does the
# NIC), pstore (no EFI), and systemd-firstboot, which would wait on the console for a locale
# and a password should a boot count as the first. cloud-init's local stage only finds the
# NoCloud seed before the network (whose config cloud-init does not render here); its network
# stage finds the same seed, and the local one's Python start cost ~20 s under TCG. Its config
# stage runs no module here (cloud-init.cfg): another ~30 s of Python saved.
readonly masked_units=(
  apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service
  dpkg-db-backup.timer man-db.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer
  getty.target getty@tty1.service serial-getty@ttyS0.service console-getty.service
  networking.service systemd-firstboot.service systemd-pstore.service
  cloud-init-local.service cloud-config.service
)
readonly enabled_units=(
  systemd-networkd.service systemd-networkd-wait-online.service
  containerd.service marooned-preload-images.service marooned-node-boot.service
)

build_rootfs() {
  local rootfs=$1
  : "${NODE_BINARIES:?NODE_BINARIES is required (the directory with kubelet and kubeadm)}"
  local b
  for b in kubelet kubeadm; do [ -x "$NODE_BINARIES/$b" ] || die "$NODE_BINARIES/$b is missing"; done
  [ ! -e "$rootfs" ] || die "$rootfs exists; it must be a new directory"

  local packages
  packages="$(grep -v '^[[:space:]]*\(#\|$\)' "$node_dir/vm/packages.txt" | paste -sd, -)"
  log "mmdebstrap $suite: $packages"
  # Docs, man pages and translations never get read on a node. The initramfs
  # configuration goes in first, so the kernel package's hook builds it small.
  mmdebstrap --variant=apt --mode=root --include="$packages" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --setup-hook="mkdir -p \"\$1/etc/initramfs-tools\"" \
    --setup-hook="sync-in $node_dir/vm/initramfs /etc/initramfs-tools" \
    "$suite" "$rootfs" \
    "deb $mirror $suite main" "deb $mirror $suite-updates main" "deb $security_mirror $suite-security main"

  log "installing the node files, kubelet and kubeadm"
  "$node_dir/install-files.sh" "$node_dir" "$rootfs" "$node_dir/kubeadm/files.txt" "$node_dir/vm/files.txt"
  install -m 0755 "$NODE_BINARIES/kubelet" "$rootfs/usr/bin/kubelet"
  install -m 0755 "$NODE_BINARIES/kubeadm" "$rootfs/usr/bin/kubeadm"
  mkdir -p "$rootfs/usr/share/marooned/images"

  log "units: enabling ${enabled_units[*]}; masking ${masked_units[*]}"
  systemctl --root="$rootfs" enable "${enabled_units[@]}"
  systemctl --root="$rootfs" mask "${masked_units[@]}"
  # kubelet.service is enabled by marooned-node-boot just before kubeadm join, never at boot.
  ! systemctl --root="$rootfs" is-enabled --quiet kubelet.service || die "kubelet.service is enabled in the image"

  # Each VM gets its own machine ID and hostname at boot (cloud-init's local-hostname). An empty
  # machine-id, not "uninitialized": that marks a first boot, on which systemd spends seconds
  # applying presets to every unit (and would enable kubelet.service).
  : > "$rootfs/etc/machine-id"
  printf 'localhost\n' > "$rootfs/etc/hostname"
  rm -rf "$rootfs/var/lib/apt/lists/"* "$rootfs/var/cache/apt/"* "$rootfs/var/log/"*.log "$rootfs/var/cache/debconf/"*-old
}

build_pause() {
  local out=$1 module_dir
  : "${KUBERNETES_VERSION:?KUBERNETES_VERSION is required (e.g. v1.35.4)}"
  module_dir="$(GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@${KUBERNETES_VERSION}" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')"
  local source="$module_dir/build/pause/linux/pause.c"
  [ -f "$source" ] || die "no $source in the Go module cache"
  local tag
  tag="$(sed -n 's/^TAG ?= *//p' "$module_dir/build/pause/Makefile")"
  [ -n "$tag" ] || die "no TAG in $module_dir/build/pause/Makefile"
  log "compiling pause $tag from k8s.io/kubernetes@${KUBERNETES_VERSION}"
  # The flags of the upstream Makefile; its VERSION is v<TAG>-<git describe>, here the module version.
  gcc -Os -Wall -Werror -static "-DVERSION=v${tag}-${KUBERNETES_VERSION}" -o "$out" "$source"
  strip "$out"
}

build_disk() {
  local rootfs=$1 out=$2 kernel initrd
  kernel="$(find "$rootfs/boot" -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n 1)"
  initrd="$(find "$rootfs/boot" -maxdepth 1 -name 'initrd.img-*' | sort -V | tail -n 1)"
  [ -n "$kernel" ] && [ -n "$initrd" ] || die "no kernel or initrd in $rootfs/boot"
  mkdir -p "$out"
  cp "$kernel" "$out/vmlinuz"
  cp "$initrd" "$out/initrd.img"
  log "mkfs.ext4 ${ROOTFS_SIZE:-3G} from $rootfs"
  rm -f "$out/rootfs.raw"
  mkfs.ext4 -q -d "$rootfs" -L marooned-root "$out/rootfs.raw" "${ROOTFS_SIZE:-3G}"
}

# Each arm exits: bash reads a script as it runs, and one edited during a build must not run on from a stale offset.
case "${1:-}" in
  rootfs) [ $# -eq 2 ] || die "usage: $0 rootfs ROOTFS"; build_rootfs "$2"; exit ;;
  pause) [ $# -eq 2 ] || die "usage: $0 pause OUT"; build_pause "$2"; exit ;;
  disk) [ $# -eq 3 ] || die "usage: $0 disk ROOTFS OUT"; build_disk "$2" "$3"; exit ;;
  *) die "usage: $0 rootfs ROOTFS | pause OUT | disk ROOTFS OUT" ;;
esac
