/** KubeVirt's VirtualMachineInstance API, as the controller, the install, doctor and the simulator address it. */
export const VMI_GROUP = "kubevirt.io";
export const VMI_VERSION = "v1";
export const VMI_PLURAL = "virtualmachineinstances";
export const VMI_CRD_NAME = `${VMI_PLURAL}.${VMI_GROUP}`;

/**
 * How a VMI's pod-network interface reaches the guest. With `bridge` (DHCP) and `passt` the guest sees the pod's own
 * IP, which its kubelet registers as InternalIP and the API server dials for logs and exec. `masquerade` NATs: the
 * guest sees 10.0.2.2, so its node could never be verified; the controller never asks for it.
 */
export const NETWORK_BINDINGS = ["bridge", "passt"] as const;
export type NetworkBinding = (typeof NETWORK_BINDINGS)[number];

/** The address a guest behind KubeVirt's masquerade binding sees as its own. */
export const MASQUERADE_GUEST_IP = "10.0.2.2";

/** The pod-network interface of a VMI spec for a binding (KubeVirt v1.9: `bridge`, `passtBinding`). */
export function podNetworkInterface(binding: NetworkBinding): { name: string; bridge?: Record<string, never>; passtBinding?: Record<string, never> } {
  return binding === "bridge" ? { name: "default", bridge: {} } : { name: "default", passtBinding: {} };
}

/** The IP the guest itself sees on the pod network, given the VMI's interface and the pod's IP. */
export function guestIpFor(iface: { masquerade?: object } | undefined, podIp: string): string {
  return iface?.masquerade ? MASQUERADE_GUEST_IP : podIp;
}
