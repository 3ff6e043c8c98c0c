/**
 * The container images the dev VM image preloads (no registry reachable from a
 * VM): the sandbox image containerd's CRI starts every pod with, and a small
 * shell image for test pods. images/node/vm/containerd-config.toml names
 * SANDBOX_IMAGE as its sandbox_image; the tag is kubeadm 1.35's PauseVersion.
 */
export const SANDBOX_IMAGE = "registry.k8s.io/pause:3.10.1";
export const SHELL_IMAGE = "maroonedpods.local/shell:1";
