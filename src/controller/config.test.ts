import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { KUBEADM_NODE_BOOTSTRAP_GROUP } from "../api/names.ts";
import { joinInfoFor, renderCloudConfig } from "./artifacts.ts";
import { parseDuration, resolveConfig, type ControllerConfig, type MaroonedPodsConfigSpec } from "./config.ts";
import { API_SERVER, CA_CERT_HASH, POD_UID, writtenJoinInfo } from "./fixtures.test-support.ts";

const Mi = 1024 ** 2;
const Gi = 1024 ** 3;
const defaults = { apiServerEndpoint: API_SERVER };

function resolved(spec: MaroonedPodsConfigSpec | undefined): ControllerConfig {
  const result = resolveConfig(spec, defaults);
  if (!result.ok) throw new Error(`unexpected errors: ${result.errors.join("; ")}`);
  return result.config;
}

function errorsOf(spec: MaroonedPodsConfigSpec, endpoint = API_SERVER): string[] {
  const result = resolveConfig(spec, { apiServerEndpoint: endpoint });
  return result.ok ? [] : result.errors;
}

describe("resolveConfig: defaults", () => {
  const expected: ControllerConfig = {
    nodeImage: "quay.io/maroonedpods/node:k3s-v1.35.4",
    warmPool: { size: 0, maxBooting: 10, vmResources: { cpuMillis: 1_000, memoryBytes: 1024 * Mi } },
    sizing: {
      base: { cpuMillis: 1_000, memoryBytes: 1024 * Mi },
      overhead: { cpuMillis: 1_000, memoryBytes: 1024 * Mi },
      max: { cpuMillis: 16_000, memoryBytes: 64 * Gi },
    },
    guestReservedMemoryBytes: 256 * Mi,
    kernelBoot: undefined,
    taintKeyPrefix: "maroonedpods.io",
    joinMethod: "k3s",
    networkBinding: "bridge",
    apiServerEndpoint: API_SERVER,
    vmNamespace: "maroonedpods-vms",
    nodeNamePrefix: "marooned-",
    registrationTimeoutMs: 10 * 60_000,
    maxAttempts: 3,
    bootstrapTokenTtlMs: 30 * 60_000,
    bootstrapTokenGroups: [KUBEADM_NODE_BOOTSTRAP_GROUP],
  };

  it.each<[string, MaroonedPodsConfigSpec | undefined]>([
    ["no MaroonedPodsConfig", undefined],
    ["an empty spec", {}],
    ["empty nested objects", { baseVMResources: {}, resourceOverhead: {}, maxVMResources: {}, kernelBootConfig: {} }],
  ])("%s", (_, spec) => {
    expect(resolveConfig(spec, defaults)).toEqual({ ok: true, config: expected });
  });

  it("takes the API server endpoint from the caller unless the spec sets one", () => {
    expect(resolved(undefined).apiServerEndpoint).toBe(API_SERVER);
    expect(resolved({ apiServerEndpoint: "https://api.example.com:443" }).apiServerEndpoint).toBe("https://api.example.com:443");
  });
});

describe("resolveConfig: the VM namespace", () => {
  it("comes from the controller's flag, never from the spec: caches watch where writes go", () => {
    expect(resolved({ vmNamespace: "vms" }).vmNamespace).toBe("maroonedpods-vms");
    const result = resolveConfig({ vmNamespace: "vms" }, { ...defaults, vmNamespace: "flagged" });
    expect(result.ok && result.config.vmNamespace).toBe("flagged");
  });
});

describe("resolveConfig: the documented example", () => {
  it("is a config the controller accepts, not only one the CRD's schema does", () => {
    const example = parse(readFileSync(new URL("../../examples/maroonedpodsconfig.yaml", import.meta.url), "utf8")) as { spec: MaroonedPodsConfigSpec };
    const result = resolveConfig(example.spec, defaults);
    expect(result.ok ? [] : result.errors).toEqual([]);
    expect(result.ok && result.config.warmPool).toEqual({ size: 2, maxBooting: 10, vmResources: { cpuMillis: 1_000, memoryBytes: 1024 * Mi } });
  });
});

describe("resolveConfig: overrides", () => {
  it.each<[string, MaroonedPodsConfigSpec, Partial<ControllerConfig>]>([
    ["nodeImage", { nodeImage: "registry.example/node:kubeadm-1.33" }, { nodeImage: "registry.example/node:kubeadm-1.33" }],
    ["warmPoolSize (the short form)", { warmPoolSize: 2 }, { warmPool: { size: 2, maxBooting: 10, vmResources: { cpuMillis: 1_000, memoryBytes: 1024 * Mi } } }],
    ["warmPool", { warmPool: { size: 3, maxBooting: 10, vmResources: { cpu: "2", memory: "2Gi" } } }, { warmPool: { size: 3, maxBooting: 10, vmResources: { cpuMillis: 2_000, memoryBytes: 2 * Gi } } }],
    ["warmPool.size over a stored warmPoolSize 0 (the old CRD default)", { warmPoolSize: 0, warmPool: { size: 2 } }, { warmPool: { size: 2, maxBooting: 10, vmResources: { cpuMillis: 1_000, memoryBytes: 1024 * Mi } } }],
    ["warmPool.size and warmPoolSize agreeing", { warmPoolSize: 1, warmPool: { size: 1 } }, { warmPool: { size: 1, maxBooting: 10, vmResources: { cpuMillis: 1_000, memoryBytes: 1024 * Mi } } }],
    ["warmPool.maxBooting", { warmPool: { size: 5, maxBooting: 2 } }, { warmPool: { size: 5, maxBooting: 2, vmResources: { cpuMillis: 1_000, memoryBytes: 1024 * Mi } } }],
    ["warmPool.vmResources defaults to baseVMResources", { warmPool: { size: 1 }, baseVMResources: { memoryMi: 2048 }, resourceOverhead: { memory: "2Gi" } }, { warmPool: { size: 1, maxBooting: 10, vmResources: { cpuMillis: 1_000, memoryBytes: 2 * Gi } } }],
    [
      "baseVMResources (memoryMi only; cpu keeps its default)",
      { baseVMResources: { memoryMi: 2048 }, resourceOverhead: { memory: "2Gi" } },
      { sizing: { base: { cpuMillis: 1_000, memoryBytes: 2 * Gi }, overhead: { cpuMillis: 1_000, memoryBytes: 2 * Gi }, max: { cpuMillis: 16_000, memoryBytes: 64 * Gi } } },
    ],
    [
      "resourceOverhead and maxVMResources",
      { resourceOverhead: { cpu: "1.5", memory: "1536Mi" }, maxVMResources: { cpu: "4", memory: "8Gi" } },
      { sizing: { base: { cpuMillis: 1_000, memoryBytes: 1 * Gi }, overhead: { cpuMillis: 1_500, memoryBytes: 1536 * Mi }, max: { cpuMillis: 4_000, memoryBytes: 8 * Gi } } },
    ],
    ["enableKernelBoot with the default paths", { enableKernelBoot: true }, { kernelBoot: { kernelPath: "/boot/vmlinuz", initrdPath: "/boot/initramfs.img", kernelArgs: "console=ttyS0" } }],
    [
      "kernelBootConfig merged over the defaults",
      { enableKernelBoot: true, kernelBootConfig: { kernelArgs: "console=ttyS0 quiet" } },
      { kernelBoot: { kernelPath: "/boot/vmlinuz", initrdPath: "/boot/initramfs.img", kernelArgs: "console=ttyS0 quiet" } },
    ],
    ["kernelBootConfig without enableKernelBoot is ignored", { kernelBootConfig: { kernelPath: "/vmlinuz" } }, { kernelBoot: undefined }],
    ["nodeTaintKey", { nodeTaintKey: "example.com" }, { taintKeyPrefix: "example.com" }],
    ["joinMethod", { joinMethod: "kubeadm" }, { joinMethod: "kubeadm" }],
    ["networkBinding passt", { networkBinding: "passt" }, { networkBinding: "passt" }],
    ["apiServerEndpoint with IPv6", { apiServerEndpoint: "https://[fd00::1]:6443" }, { apiServerEndpoint: "https://[fd00::1]:6443" }],
    ["nodeNamePrefix", { nodeNamePrefix: "mp" }, { nodeNamePrefix: "mp" }],
    ["registrationTimeout", { registrationTimeout: "90s" }, { registrationTimeoutMs: 90_000 }],
    ["maxAttempts", { maxAttempts: 5 }, { maxAttempts: 5 }],
    ["bootstrapTokenTTL", { bootstrapTokenTTL: "1h" }, { bootstrapTokenTtlMs: 3_600_000 }],
    ["bootstrapTokenGroups", { bootstrapTokenGroups: ["system:bootstrappers:marooned"] }, { bootstrapTokenGroups: ["system:bootstrappers:marooned"] }],
  ])("%s", (_, spec, expected) => {
    expect(resolved(spec)).toMatchObject(expected);
  });
});

describe("resolveConfig: invalid fields are reported by name", () => {
  it.each<[MaroonedPodsConfigSpec, string]>([
    [{ joinMethod: "ssh" }, "joinMethod: must be one of k3s, kubeadm"],
    [{ nodeNamePrefix: "Marooned-" }, "nodeNamePrefix: "],
    [{ nodeNamePrefix: "-marooned" }, "nodeNamePrefix: "],
    [{ nodeNamePrefix: "a_b" }, "nodeNamePrefix: "],
    [{ nodeNamePrefix: "" }, "nodeNamePrefix: "],
    [{ nodeNamePrefix: "a".repeat(28) }, "nodeNamePrefix: "],
    [{ registrationTimeout: "10" }, "registrationTimeout: must be a positive duration up to 24h, like 10m"],
    [{ registrationTimeout: "0s" }, "registrationTimeout: "],
    [{ registrationTimeout: "1d" }, "registrationTimeout: "],
    [{ bootstrapTokenTTL: "forever" }, "bootstrapTokenTTL: must be a positive duration up to 24h, like 30m"],
    [{ bootstrapTokenTTL: "25h" }, "bootstrapTokenTTL: must be a positive duration up to 24h, like 30m"],
    [{ registrationTimeout: "100000h" }, "registrationTimeout: must be a positive duration up to 24h, like 10m"],
    [{ bootstrapTokenTTL: "0m" }, "bootstrapTokenTTL: "],
    [{ maxAttempts: 0 }, "maxAttempts: must be an integer >= 1"],
    [{ networkBinding: "masquerade" }, "networkBinding: must be one of bridge, passt (masquerade hides the pod's IP"],
    [{ maxAttempts: 1.5 }, "maxAttempts: "],
    [{ warmPoolSize: -1 }, "warmPoolSize: must be an integer >= 0"],
    [{ warmPool: { size: -1 } }, "warmPool.size: must be an integer >= 0"],
    [{ warmPool: { maxBooting: 0 } }, "warmPool.maxBooting: must be an integer >= 1"],
    [{ warmPool: { maxBooting: 1.5 } }, "warmPool.maxBooting: must be an integer >= 1"],
    [{ warmPool: { size: 2 }, warmPoolSize: 3 }, "warmPool.size: warmPoolSize is its short form; set one of them, or both to the same value"],
    [{ warmPool: { vmResources: { cpu: "500m" } } }, "warmPool.vmResources: must be at least baseVMResources"],
    [{ warmPool: { vmResources: { memory: "128Gi" } } }, "warmPool.vmResources: must not exceed maxVMResources"],
    [{ baseVMResources: { memoryMi: 0 } }, "baseVMResources.memoryMi: must be a positive integer"],
    [{ baseVMResources: { memoryMi: 1.5 } }, "baseVMResources.memoryMi: "],
    [{ baseVMResources: { cpu: "lots" } }, "baseVMResources.cpu: invalid quantity"],
    [{ resourceOverhead: { cpu: "1 core" } }, "resourceOverhead.cpu: "],
    [{ resourceOverhead: { memory: "1 Gi" } }, "resourceOverhead.memory: "],
    [{ maxVMResources: { cpu: "?" } }, "maxVMResources.cpu: "],
    [{ maxVMResources: { memory: "huge" } }, "maxVMResources.memory: "],
    [{ baseVMResources: { cpu: "32" } }, "baseVMResources: must not exceed maxVMResources"],
    [{ maxVMResources: { memory: "512Mi" } }, "baseVMResources: must not exceed maxVMResources"],
    [{ resourceOverhead: { cpu: "250m" } }, "resourceOverhead: must be at least baseVMResources"],
    [{ baseVMResources: { memoryMi: 2048 } }, "resourceOverhead: must be at least baseVMResources"],
    [{ enableKernelBoot: true, kernelBootConfig: { kernelPath: "", initrdPath: "" } }, "kernelBootConfig: needs kernelPath or initrdPath"],
    [{ apiServerEndpoint: "http://10.0.0.1:6443" }, "apiServerEndpoint: "],
    [{ apiServerEndpoint: "https://10.0.0.1:6443/prefix" }, "apiServerEndpoint: "],
    [{ apiServerEndpoint: "https://api.example.com:6443?x=1" }, "apiServerEndpoint: "],
    [{ apiServerEndpoint: "https://user@api.example.com" }, "apiServerEndpoint: "],
    [{ apiServerEndpoint: "https://api_server:6443" }, "apiServerEndpoint: "],
    [{ nodeTaintKey: "Not A Key" }, "nodeTaintKey: "],
    [{ nodeTaintKey: "Example.com" }, "nodeTaintKey: "],
    [{ nodeTaintKey: "example.com/taints" }, "nodeTaintKey: "],
    [{ nodeTaintKey: "" }, "nodeTaintKey: "],
    [{ nodeTaintKey: `${"a".repeat(60)}.com` }, "nodeTaintKey: "],
  ])("%j", (spec, message) => {
    const errors = errorsOf(spec);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.startsWith(message)).toBe(true);
  });

  it("reports the caller's endpoint when it is unusable", () => {
    expect(errorsOf({}, "http://localhost:8080")).toEqual([expect.stringMatching(/^apiServerEndpoint: /)]);
  });

  it("reports every problem at once", () => {
    const errors = errorsOf({ joinMethod: "ssh", maxAttempts: 0, registrationTimeout: "soon", resourceOverhead: { memory: "x" } });
    expect(errors.map((e) => e.split(":")[0])).toEqual(["joinMethod", "registrationTimeout", "maxAttempts", "resourceOverhead.memory"]);
  });

  it("accepts the longest prefix that keeps node names DNS labels", () => {
    expect(resolved({ nodeNamePrefix: `${"a".repeat(26)}-` }).nodeNamePrefix).toHaveLength(27);
  });
});

describe("resolveConfig: every accepted config renders a join info the node image accepts", () => {
  it.each<[string, MaroonedPodsConfigSpec]>([
    ["defaults", {}],
    ["kubeadm, another taint key and endpoint", { joinMethod: "kubeadm", nodeTaintKey: "tenant.example.com", apiServerEndpoint: "https://[fd00::1]:6443" }],
    ["a hostname endpoint without a port", { apiServerEndpoint: "https://kubernetes.default.svc" }],
  ])("%s", (_, spec) => {
    const config = resolved(spec);
    const vmName = `${config.nodeNamePrefix}${POD_UID}`;
    const joinInfo = joinInfoFor({ uid: POD_UID, namespace: "ns", name: "p" }, vmName, { id: "abcdef", secret: "0123456789abcdef" }, config, CA_CERT_HASH);
    expect(writtenJoinInfo(renderCloudConfig(joinInfo))).toEqual({ ok: true, joinInfo });
  });
});

describe("parseDuration", () => {
  it.each<[string, number | undefined]>([
    ["30s", 30_000],
    ["10m", 600_000],
    ["2h", 7_200_000],
    ["0s", 0],
    ["1d", undefined],
    ["10", undefined],
    ["1.5h", undefined],
    ["-1m", undefined],
    [" 10m", undefined],
    ["10M", undefined],
    ["1h30m", undefined],
    ["", undefined],
  ])("%j", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
});
