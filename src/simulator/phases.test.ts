import type { V1VirtualMachineInstance, V1DomainSpec } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { describe, expect, it } from "vitest";
import { guestResourcesOf, simulatedIp } from "./phases.ts";

function vmiWithDomain(domain: Partial<V1DomainSpec>): V1VirtualMachineInstance {
  return { metadata: { name: "vm" }, spec: { domain: { devices: {}, ...domain } } };
}

describe("guestResourcesOf", () => {
  it.each<[string, Partial<V1DomainSpec>, { cpu: string; memory: string }]>([
    ["defaults to 1 CPU and 1Gi", {}, { cpu: "1", memory: "1Gi" }],
    ["cores x sockets x threads", { cpu: { cores: 2, sockets: 2, threads: 2 } }, { cpu: "8", memory: "1Gi" }],
    ["cores alone", { cpu: { cores: 3 } }, { cpu: "3", memory: "1Gi" }],
    ["requests over topology", { cpu: { cores: 4 }, resources: { requests: { cpu: "500m", memory: "2Gi" } } }, { cpu: "500m", memory: "2Gi" }],
    ["guest memory over requested memory", { memory: { guest: "3Gi" }, resources: { requests: { memory: "2Gi" } } }, { cpu: "1", memory: "3Gi" }],
    ["requested memory without guest memory", { memory: {}, resources: { requests: { memory: "512Mi" } } }, { cpu: "1", memory: "512Mi" }],
  ])("%s", (_name, domain, expected) => {
    expect(guestResourcesOf(vmiWithDomain(domain))).toEqual(expected);
  });
});

describe("simulatedIp", () => {
  /** Addresses in 10.244.0.0/16 whose last octet is neither 0 nor 255. */
  const CAPACITY = 256 * 254;

  it.each([
    [0, "10.244.0.1"],
    [1, "10.244.0.2"],
    [253, "10.244.0.254"],
    [254, "10.244.1.1"],
    [CAPACITY - 1, "10.244.255.254"],
    [CAPACITY, "10.244.0.1"],
  ])("index %i is %s", (index, ip) => {
    expect(simulatedIp(index)).toBe(ip);
  });

  it("stays in 10.244.0.0/16, never ends in .0 or .255, and is distinct until the range is used up", () => {
    const seen = new Set<string>();
    // One assertion over all of them: 280,000 expect() calls made this the slowest unit test by far.
    const wrong: string[] = [];
    for (let index = 0; index < 70_000; index++) {
      const ip = simulatedIp(index);
      const match = /^10\.244\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
      const third = Number(match?.[1]);
      const fourth = Number(match?.[2]);
      if (!match || third > 255 || fourth < 1 || fourth > 254) wrong.push(ip);
      if (index < CAPACITY) seen.add(ip);
    }
    expect(wrong).toEqual([]);
    expect(seen.size).toBe(CAPACITY);
  });
});
