import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { parseMemoryBytes } from "../kube/quantity.ts";
import { DEFAULT_GUEST_MEMORY } from "./constants.ts";

const MIB = 1024 * 1024;
/** Below this a node VM's kernel and systemd do not come up; a cap never goes under it. */
const MIN_GUEST_MEMORY_MIB = 128;

export interface VmSize {
  readonly vcpus: number;
  readonly memoryMiB: number;
  /** Why the VM got less than its spec asked for, one line per resource; empty when it got all. */
  readonly capped: string[];
}

/**
 * The VM's vCPUs (cores × sockets × threads) and memory (domain.memory.guest, else requests.memory), as
 * virt-launcher sizes the domain, but no more than the host has: all its CPUs, a share of its free memory.
 */
export function vmSizeFor(vmi: V1VirtualMachineInstance, host: { cpus: number; freeMemoryBytes: number; freeMemoryShare: number }): VmSize {
  const domain = vmi.spec.domain;
  const wantedCpus = Math.max(1, (domain.cpu?.cores ?? 1) * (domain.cpu?.sockets ?? 1) * (domain.cpu?.threads ?? 1));
  const requests = (domain.resources?.requests ?? {}) as Record<string, string | undefined>;
  const wantedMiB = Math.ceil(parseMemoryBytes(domain.memory?.guest ?? requests.memory ?? DEFAULT_GUEST_MEMORY) / MIB);
  const allowedMiB = Math.max(MIN_GUEST_MEMORY_MIB, Math.floor((host.freeMemoryBytes * host.freeMemoryShare) / MIB));
  const capped: string[] = [];
  const vcpus = Math.min(wantedCpus, Math.max(1, host.cpus));
  if (vcpus < wantedCpus) capped.push(`vCPUs ${wantedCpus} → ${vcpus} (the host has ${host.cpus})`);
  const memoryMiB = Math.min(wantedMiB, allowedMiB);
  if (memoryMiB < wantedMiB) capped.push(`memory ${wantedMiB} MiB → ${memoryMiB} MiB (${host.freeMemoryShare * 100}% of the host's free memory)`);
  return { vcpus, memoryMiB, capped };
}
