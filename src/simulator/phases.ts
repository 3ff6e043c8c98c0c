import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";

export interface GuestResourcesView {
  readonly cpu: string;
  readonly memory: string;
}

/** What the guest would see as its CPU and memory. */
export function guestResourcesOf(vmi: V1VirtualMachineInstance): GuestResourcesView {
  const domain = vmi.spec.domain;
  const requests = (domain.resources?.requests ?? {}) as Record<string, string | undefined>;
  const cores = (domain.cpu?.cores ?? 1) * (domain.cpu?.sockets ?? 1) * (domain.cpu?.threads ?? 1);
  const cpu = requests.cpu ?? String(cores);
  const memory = domain.memory?.guest ?? requests.memory ?? "1Gi";
  return { cpu, memory };
}

/** Deterministic pod-network IP for the n-th VMI the simulator has seen (10.244.0.0/16, no .0/.255). */
export function simulatedIp(index: number): string {
  const host = (index % (254 * 256)) ;
  const third = Math.floor(host / 254);
  const fourth = (host % 254) + 1;
  return `10.244.${third}.${fourth}`;
}
