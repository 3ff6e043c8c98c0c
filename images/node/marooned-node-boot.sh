#!/usr/bin/env bash
# Joins this VM as its pod's dedicated node: waits for the join info cloud-init
# writes, has join-config.py check it against the schema and render the agent's
# configuration, then starts the k3s agent or runs kubeadm join. No value from
# the join info is ever expanded by this shell: the helper writes the files and
# prints only the schema-checked join method.
#
# Exit codes (see README.md):
#   0 joined, or already joined       4 the join info is invalid
#   1 unexpected failure              5 a different agent configuration is already in place
#   2 this image cannot do the join   6 starting the agent or kubeadm join failed
#   3 no join info within the timeout
set -euo pipefail

readonly EXIT_SETUP=2 EXIT_NO_JOIN_INFO=3 EXIT_INVALID=4 EXIT_CONFLICT=5 EXIT_JOIN_FAILED=6

# MAROONED_ROOT prefixes every path, so tests can run the script in a sandbox.
readonly root=${MAROONED_ROOT:-}
readonly timeout_seconds=${MAROONED_JOIN_INFO_TIMEOUT:-300}
readonly join_info=$root/etc/marooned/join-info.yaml
readonly schema=$root/usr/share/marooned/join-info.schema.json
readonly helper=$root/usr/libexec/marooned/join-config.py
readonly k3s_config=$root/etc/rancher/k3s/config.yaml
readonly kubeadm_config=$root/etc/marooned/kubeadm-join.yaml
readonly kubelet_kubeconfig=$root/etc/kubernetes/kubelet.conf

staging=""
trap '[[ -z $staging ]] || rm -f -- "$staging"' EXIT

log() { printf 'marooned-node-boot: %s\n' "$*" >&2; }
fail() {
  local code=$1
  shift
  log "error: $*"
  exit "$code"
}

check_setup() {
  [[ $timeout_seconds =~ ^[0-9]+$ ]] || fail "$EXIT_SETUP" "MAROONED_JOIN_INFO_TIMEOUT must be a whole number of seconds"
  command -v python3 >/dev/null || fail "$EXIT_SETUP" "python3 is not installed"
  [[ -r $helper ]] || fail "$EXIT_SETUP" "$helper is missing"
  [[ -r $schema ]] || fail "$EXIT_SETUP" "$schema is missing"
}

wait_for_join_info() {
  log "waiting up to ${timeout_seconds}s for $join_info"
  local deadline=$((SECONDS + timeout_seconds))
  until [[ -s $join_info ]]; do
    ((SECONDS < deadline)) || fail "$EXIT_NO_JOIN_INFO" "$join_info did not appear within ${timeout_seconds}s; is cloud-init enabled and the user data attached?"
    sleep 1
  done
  log "found $join_info"
}

# Renders the agent configuration into a staging file beside the targets and sets join_method.
render_config() {
  mkdir -p -- "$root/etc/marooned"
  staging=$(mktemp -- "$root/etc/marooned/.agent-config.XXXXXX")
  local status=0
  join_method=$(python3 "$helper" "$schema" "$join_info" "$staging") || status=$?
  case $status in
    0) log "join info is valid; join method $join_method" ;;
    "$EXIT_INVALID") fail "$EXIT_INVALID" "the join info is invalid (fields above); nothing was started" ;;
    *) fail "$EXIT_SETUP" "join-config.py could not check the join info (exit $status)" ;;
  esac
}

# Moves the staged configuration to $1 unless the same is there; a different one means this VM joined before as something else.
install_config() {
  local target=$1
  if [[ -e $target ]]; then
    cmp -s -- "$staging" "$target" || fail "$EXIT_CONFLICT" "$target differs from what the join info renders; a VM is never reused, so nothing was changed"
    log "$target is already in place"
    return
  fi
  mkdir -p -- "$(dirname -- "$target")"
  mv -- "$staging" "$target"
  staging=""
  log "wrote $target"
}

join_with_k3s() {
  command -v k3s >/dev/null || fail "$EXIT_SETUP" "join method k3s needs the k3s flavor of the node image"
  install_config "$k3s_config"
  if systemctl is-enabled --quiet k3s-agent.service; then
    log "k3s-agent is already enabled; nothing to do"
    return
  fi
  log "enabling and starting k3s-agent"
  # --no-block: the agent reports ready only after it has joined, which is not this script's to wait for.
  systemctl enable --now --no-block k3s-agent.service || fail "$EXIT_JOIN_FAILED" "could not start k3s-agent"
  log "k3s-agent started; follow it with: journalctl -u k3s-agent"
}

join_with_kubeadm() {
  command -v kubeadm >/dev/null || fail "$EXIT_SETUP" "join method kubeadm needs the kubeadm flavor of the node image"
  install_config "$kubeadm_config"
  if [[ -e $kubelet_kubeconfig ]]; then
    log "$kubelet_kubeconfig exists: this node has joined; nothing to do"
    return
  fi
  log "running kubeadm join"
  systemctl enable kubelet.service || fail "$EXIT_JOIN_FAILED" "could not enable kubelet"
  kubeadm join --config "$kubeadm_config" || fail "$EXIT_JOIN_FAILED" "kubeadm join failed; see its output above"
  log "kubeadm join done"
}

main() {
  check_setup
  wait_for_join_info
  render_config
  case $join_method in
    k3s) join_with_k3s ;;
    kubeadm) join_with_kubeadm ;;
    *) fail "$EXIT_SETUP" "unsupported join method" ;;
  esac
}

main "$@"
