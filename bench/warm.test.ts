import { describe, expect, it } from "vitest";
import { poolMissFor } from "../src/controller/claim.ts";
import { resolveConfig } from "../src/controller/config.ts";
import { parseCpuMillis, parseMemoryBytes } from "../src/kube/quantity.ts";
import { benchPoolVm } from "./warm.ts";
import { benchPod } from "./workload.ts";

describe("benchPoolVm", () => {
  const resolved = resolveConfig(undefined, { apiServerEndpoint: "https://127.0.0.1:6443" });
  if (!resolved.ok) throw new Error(resolved.errors.join("; "));
  const { config } = resolved;

  it("is the benchmark pod's own VM: its requests plus the overhead", () => {
    expect(benchPoolVm(config.sizing)).toEqual({ cpu: "1100m", memory: "1088Mi" });
  });

  it("is a VM the benchmark's pod, as admitted, claims", () => {
    const vm = benchPoolVm(config.sizing);
    const pool = { ...config, warmPool: { ...config.warmPool, size: 1, vmResources: { cpuMillis: parseCpuMillis(vm.cpu), memoryBytes: parseMemoryBytes(vm.memory) } } };
    const pod = benchPod("warm", { namespace: "bench-1", name: "warm-0" });
    const admitted = { ...pod, spec: { containers: [], ...pod.spec, runtimeClassName: "marooned", overhead: { cpu: "1", memory: "1Gi" } } };
    expect(poolMissFor(admitted, pool)).toBeUndefined();
    expect(poolMissFor(admitted, config)).toMatchObject({ reason: "TooBigForWarmPool" });
  });
});
