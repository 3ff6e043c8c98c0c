import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { chargedRequests, podRequests, sizeVm, type ContainerLike, type PodLike, type Resources, type VmSizingConfig } from "./sizing.ts";

const Mi = 1024 ** 2;
const Gi = 1024 ** 3;

type List = Record<string, string>;
const container = (name: string, requests?: List, limits?: List): ContainerLike => ({ name, resources: { requests, limits } });
const sidecar = (name: string, requests?: List): ContainerLike => ({ ...container(name, requests), restartPolicy: "Always" });
const pod = (spec: PodLike["spec"]): PodLike => ({ spec });
const res = (cpuMillis: number, memoryBytes: number): Resources => ({ cpuMillis, memoryBytes });

describe("chargedRequests", () => {
  it.each<[string, PodLike, Resources]>([
    ["a pod without a spec", {}, res(0, 0)],
    ["containers without requests", pod({ containers: [{ name: "app" }, container("b")] }), res(0, 0)],
    [
      "regular containers summed",
      pod({ containers: [container("a", { cpu: "100m", memory: "128Mi" }), container("b", { cpu: "200m", memory: "256Mi" })] }),
      res(300, 384 * Mi),
    ],
    [
      "an init container larger than the sum, per dimension",
      pod({ initContainers: [container("init", { cpu: "1", memory: "64Mi" })], containers: [container("app", { cpu: "300m", memory: "128Mi" })] }),
      res(1000, 128 * Mi),
    ],
    [
      "init containers that run one at a time: the largest, not their sum",
      pod({
        initContainers: [container("i1", { cpu: "600m" }), container("i2", { cpu: "700m" })],
        containers: [container("app", { cpu: "100m" })],
      }),
      res(700, 0),
    ],
    [
      "sidecars run with the containers and with every init container started after them",
      pod({
        initContainers: [
          sidecar("mesh", { cpu: "100m", memory: "100Mi" }),
          container("migrate", { cpu: "1", memory: "64Mi" }), // with mesh: 1100m, 164Mi
          sidecar("logs", { cpu: "200m", memory: "200Mi" }),
          container("warm", { cpu: "300m", memory: "1Gi" }), // with mesh and logs: 600m, 1324Mi
        ],
        containers: [container("app", { cpu: "500m", memory: "512Mi" })], // with sidecars: 800m, 812Mi
      }),
      res(1100, 1324 * Mi),
    ],
    [
      "a sidecar started after an init container does not run beside it",
      pod({
        initContainers: [container("init", { cpu: "1" }), sidecar("proxy", { cpu: "500m" })],
        containers: [container("app", { cpu: "200m" })],
      }),
      res(1000, 0),
    ],
    [
      "sidecars alone adding up above the init containers",
      pod({ initContainers: [sidecar("s1", { memory: "1Gi" }), sidecar("s2", { memory: "1Gi" })], containers: [container("app", { memory: "1Gi" })] }),
      res(0, 3 * Gi),
    ],
    ["a limits-only container: requests default to limits", pod({ containers: [container("app", undefined, { cpu: "2", memory: "1Gi" })] }), res(2000, Gi)],
    [
      "limits stand in per resource, not for the whole list",
      pod({ containers: [container("app", { cpu: "500m" }, { cpu: "2", memory: "1Gi" })] }),
      res(500, Gi),
    ],
    ["a limits-only init container", pod({ initContainers: [container("init", undefined, { cpu: "3" })], containers: [container("app", { cpu: "1" })] }), res(3000, 0)],
    [
      "the RuntimeClass overhead in spec.overhead",
      pod({ overhead: { cpu: "100m", memory: "120Mi" }, containers: [container("app", { cpu: "1", memory: "1Gi" })] }),
      res(1100, 1144 * Mi),
    ],
    [
      "pod-level requests replacing the containers' sum for the resources they set",
      pod({ resources: { requests: { cpu: "2" } }, containers: [container("app", { cpu: "500m", memory: "1Gi" })] }),
      res(2000, Gi),
    ],
    [
      "pod-level limits as requests when no container states the resource",
      pod({ resources: { limits: { cpu: "3", memory: "2Gi" } }, containers: [container("app", undefined, { memory: "1Gi" })] }),
      res(3000, Gi),
    ],
    [
      "pod-level resources plus spec.overhead",
      pod({ resources: { requests: { memory: "1Gi" } }, overhead: { memory: "64Mi" }, containers: [{ name: "app" }] }),
      res(0, 1088 * Mi),
    ],
    [
      "other resources, even malformed, are not CPU or memory",
      pod({ containers: [container("app", { cpu: "1", "ephemeral-storage": "lots", "nvidia.com/gpu": "1" })] }),
      res(1000, 0),
    ],
  ])("%s", (_name, input, expected) => {
    expect(chargedRequests(input)).toEqual(expected);
  });

  it("accepts a typed V1Pod", () => {
    const typed: V1Pod = { spec: { containers: [{ name: "app", image: "busybox", resources: { requests: { cpu: "250m", memory: "64Mi" } } }] } };
    expect(chargedRequests(typed)).toEqual(res(250, 64 * Mi));
  });

  it("is the pod's own requests plus spec.overhead, which podRequests leaves out", () => {
    const withOverhead = pod({ overhead: { cpu: "1", memory: "1Gi" }, containers: [container("app", { cpu: "250m", memory: "64Mi" })] });
    expect(podRequests(withOverhead)).toEqual(res(250, 64 * Mi));
    expect(chargedRequests(withOverhead)).toEqual(res(1250, Gi + 64 * Mi));
  });
});

describe("bad quantities in the pod", () => {
  it.each<[string, PodLike, string]>([
    [
      "a container request",
      pod({ containers: [container("app", { cpu: "lots" })] }),
      'container "app": spec.containers[0].resources.requests.cpu: invalid quantity "lots": expected a number',
    ],
    [
      "an init container limit",
      pod({ initContainers: [sidecar("ok"), container("init", undefined, { memory: "1GB" })], containers: [] }),
      'container "init": spec.initContainers[1].resources.limits.memory: invalid quantity "1GB"',
    ],
    [
      "a negative request",
      pod({ containers: [container("a"), container("b", { memory: "-1Mi" })] }),
      'container "b": spec.containers[1].resources.requests.memory: must not be negative, got "-1Mi"',
    ],
    ["spec.overhead", pod({ overhead: { cpu: "1 core" } }), 'spec.overhead.cpu: invalid quantity "1 core"'],
    ["pod-level requests", pod({ resources: { requests: { memory: "Gi" } } }), 'spec.resources.requests.memory: invalid quantity "Gi"'],
    ["an out-of-range request", pod({ containers: [container("big", { memory: "1Ei" })] }), 'container "big": spec.containers[0].resources.requests.memory: quantity "1Ei" is out of range'],
  ])("throws naming %s", (_name, input, message) => {
    expect(() => chargedRequests(input)).toThrow(message);
    expect(() => sizeVm(input, config)).toThrow(message);
  });
});

const config: VmSizingConfig = {
  base: res(1000, Gi),
  overhead: res(500, 512 * Mi),
  max: res(4000, 8 * Gi),
};

/** A pod as the `marooned` RuntimeClass leaves it: charged an overhead that covers the base VM. */
const charged = (input: PodLike, overhead: List = { cpu: "1", memory: "1Gi" }): PodLike => ({ spec: { ...input.spec, overhead } });

describe("sizeVm", () => {
  it.each<[string, PodLike, VmSizingConfig, { cpuMillis: number; memoryBytes: number; guestCpus: number }]>([
    ["no requests: the base size", pod({ containers: [{ name: "app" }] }), config, { cpuMillis: 1000, memoryBytes: Gi, guestCpus: 1 }],
    ["a small pod: floored at the base", pod({ containers: [container("app", { cpu: "100m", memory: "64Mi" })] }), config, { cpuMillis: 1000, memoryBytes: Gi, guestCpus: 1 }],
    [
      "configured overhead added to the requests",
      pod({ containers: [container("app", { cpu: "2", memory: "2Gi" })] }),
      config,
      { cpuMillis: 2500, memoryBytes: 2560 * Mi, guestCpus: 3 },
    ],
    [
      "each dimension floored on its own",
      pod({ containers: [container("app", { cpu: "1500m", memory: "100Mi" })] }),
      config,
      { cpuMillis: 2000, memoryBytes: Gi, guestCpus: 2 },
    ],
    [
      "exactly the maximum",
      pod({ containers: [container("app", { cpu: "3500m", memory: "7680Mi" })] }),
      config,
      { cpuMillis: 4000, memoryBytes: 8 * Gi, guestCpus: 4 },
    ],
    [
      "spec.overhead is the charge, not part of the VM: the configured overhead is",
      pod({ overhead: { cpu: "2", memory: "2Gi" }, containers: [container("app", { cpu: "1", memory: "1Gi" })] }),
      config,
      { cpuMillis: 1500, memoryBytes: 1536 * Mi, guestCpus: 2 },
    ],
    [
      "charged exactly what the VM costs",
      pod({ overhead: { cpu: "500m", memory: "512Mi" }, containers: [container("app", { cpu: "1", memory: "1Gi" })] }),
      config,
      { cpuMillis: 1500, memoryBytes: 1536 * Mi, guestCpus: 2 },
    ],
    ["at least one vCPU even with a zero base", {}, { ...config, base: res(0, 0), overhead: res(0, 0) }, { cpuMillis: 0, memoryBytes: 0, guestCpus: 1 }],
    ["a fractional CPU rounds the vCPUs up", pod({ containers: [container("app", { cpu: "1n" })] }), { ...config, base: res(0, 0), overhead: res(0, 0) }, { cpuMillis: 1, memoryBytes: 0, guestCpus: 1 }],
  ])("%s", (_name, input, sizing, expected) => {
    expect(sizeVm(input.spec?.overhead ? input : charged(input), sizing)).toEqual({ ok: true, ...expected });
  });

  it.each<[string, PodLike, VmSizingConfig, string]>([
    [
      "CPU over the maximum",
      pod({ containers: [container("app", { cpu: "6", memory: "1Gi" })] }),
      config,
      "pod requests 6 CPU + 500m overhead = 6500m, above the maximum 4 by 2500m",
    ],
    [
      "CPU over the maximum by one millicore",
      pod({ containers: [container("app", { cpu: "3501m" })] }),
      config,
      "pod requests 3501m CPU + 500m overhead = 4001m, above the maximum 4 by 1m",
    ],
    [
      "memory over the maximum",
      pod({ containers: [container("app", { memory: "8Gi" })] }),
      config,
      "pod requests 8Gi memory + 512Mi overhead = 8704Mi, above the maximum 8Gi by 512Mi",
    ],
    [
      "memory over the maximum through an init container",
      pod({ initContainers: [container("load", { memory: "10G" })], containers: [container("app", { memory: "1Gi" })] }),
      config,
      "pod requests 9765625Ki memory + 512Mi overhead = 10289913Ki, above the maximum 8Gi by 1901305Ki",
    ],
    [
      "both dimensions over the maximum",
      pod({ containers: [container("app", { cpu: "8", memory: "16Gi" })] }),
      config,
      "pod requests 8 CPU + 500m overhead = 8500m, above the maximum 4 by 4500m; pod requests 16Gi memory + 512Mi overhead = 16896Mi, above the maximum 8Gi by 8704Mi",
    ],
    ["a base above the maximum (a config error)", {}, { ...config, base: res(8000, Gi) }, "the base VM CPU 8 is above the maximum 4 by 4"],
  ])("%s", (_name, input, sizing, reason) => {
    expect(sizeVm(charged(input), sizing)).toEqual({ ok: false, problem: "exceedsMaximum", reason });
  });

  it.each<[string, PodLike, string]>([
    [
      "a pod with no overhead at all (no RuntimeClass)",
      pod({ containers: [container("app", { cpu: "100m", memory: "64Mi" })] }),
      "its VM needs 1 CPU but the pod is charged 100m (requests + spec.overhead); its VM needs 1Gi memory but the pod is charged 64Mi (requests + spec.overhead)",
    ],
    [
      "an overhead below the configured one",
      charged(pod({ containers: [container("app", { cpu: "2", memory: "2Gi" })] }), { cpu: "500m", memory: "256Mi" }),
      "its VM needs 2560Mi memory but the pod is charged 2304Mi (requests + spec.overhead)",
    ],
  ])("refuses a VM that costs more than the pod is charged: %s", (_name, input, reason) => {
    const result = sizeVm(input, config);
    expect(result).toMatchObject({ ok: false, problem: "exceedsCharge" });
    expect(result.ok ? "" : result.reason).toContain(reason);
  });
});
