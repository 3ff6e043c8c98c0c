import type { V1DomainSpec, V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { describe, expect, it } from "vitest";
import { vmSizeFor } from "./sizing.ts";

const GiB = 1024 ** 3;
const vmi = (domain: Partial<V1DomainSpec>): V1VirtualMachineInstance => ({ metadata: { name: "vm" }, spec: { domain: { devices: {}, ...domain } } });
const roomy = { cpus: 16, freeMemoryBytes: 64 * GiB, freeMemoryShare: 0.5 };

describe("vmSizeFor", () => {
  it.each<[string, Partial<V1DomainSpec>, number, number]>([
    ["1 vCPU and 1 GiB when unsized", {}, 1, 1024],
    ["cores × sockets × threads", { cpu: { cores: 2, sockets: 2, threads: 1 } }, 4, 1024],
    ["guest memory over requested memory", { memory: { guest: "2Gi" }, resources: { requests: { memory: "1Gi" } } }, 1, 2048],
    ["requested memory", { resources: { requests: { memory: "1536Mi" } } }, 1, 1536],
  ])("%s", (_name, domain, vcpus, memoryMiB) => {
    expect(vmSizeFor(vmi(domain), roomy)).toEqual({ vcpus, memoryMiB, capped: [] });
  });

  it("caps to the host's CPUs and a share of its free memory, saying so", () => {
    const size = vmSizeFor(vmi({ cpu: { cores: 8 }, memory: { guest: "8Gi" } }), { cpus: 2, freeMemoryBytes: 4 * GiB, freeMemoryShare: 0.5 });
    expect(size.vcpus).toBe(2);
    expect(size.memoryMiB).toBe(2048);
    expect(size.capped).toEqual(["vCPUs 8 → 2 (the host has 2)", "memory 8192 MiB → 2048 MiB (50% of the host's free memory)"]);
  });

  it("never caps memory below what a guest needs to boot", () => {
    expect(vmSizeFor(vmi({}), { cpus: 1, freeMemoryBytes: 10 * 1024 * 1024, freeMemoryShare: 0.5 }).memoryMiB).toBe(128);
  });
});
