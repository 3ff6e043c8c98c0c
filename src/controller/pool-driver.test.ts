import type { V1Node } from "@kubernetes/client-node";
import { pino } from "pino";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { ClusterWriter } from "./cluster-writer.ts";
import { podCensus } from "./census.ts";
import { CA_CERT_HASH, countingBytes, defaultConfig, makeNode, NOW } from "./fixtures.test-support.ts";
import { createControllerMetrics } from "./metrics.ts";
import { createPoolReconciler, POOL_RECONCILE_MIN_INTERVAL_MS, poolNodeChanged, poolWakeDelayMs } from "./pool-driver.ts";
import type { CacheReader } from "./reconciler.ts";

const readerOf = <T>(items: T[]): CacheReader<T> => ({ get: () => undefined, list: () => items });

function driver(size: number, calls: string[]) {
  const writer = new Proxy({} as ClusterWriter, {
    get: (_target, method: string) => (...args: unknown[]) => {
      calls.push(method);
      if (method === "listPoolVmis") return Promise.resolve([]);
      return Promise.resolve(args.length >= 0);
    },
  });
  return createPoolReconciler({
    caches: { vmis: readerOf([]), userDataSecrets: readerOf([]), tokens: readerOf([]), nodes: readerOf([]) },
    writer,
    config: () => defaultConfig({ warmPool: { ...defaultConfig().warmPool, size, vmResources: defaultConfig().sizing.base } }),
    caCertHash: () => Promise.resolve(CA_CERT_HASH),
    clock: { now: () => NOW },
    randomBytes: countingBytes(),
    metrics: createControllerMetrics(new Registry(), () => ({}), () => podCensus([], NOW)),
    logger: pino({ level: "silent" }),
  });
}

describe("the pool's reconcile", () => {
  it("with the pool off and nothing of it, reads and writes nothing", async () => {
    const calls: string[] = [];
    expect(await driver(0, calls)()).toEqual({});
    expect(calls).toEqual([]);
  });

  it("with the pool on, lists past the cache, creates each VM's token, user data and VMI, and reports", async () => {
    const calls: string[] = [];
    await driver(1, calls)();
    expect(calls).toEqual(["listPoolVmis", "createSecret", "createSecret", "createVmi", "reportWarmPool"]);
  });
});

describe("poolNodeChanged", () => {
  const node = makeNode();
  it.each<[string, V1Node, boolean]>([
    ["a heartbeat", { ...node, status: { ...node.status, conditions: node.status?.conditions?.map((c) => ({ ...c, lastHeartbeatTime: new Date(NOW) })) } }, false],
    ["Ready flipped", makeNode({ ready: "False" }), true],
    ["a taint changed", makeNode({ taints: [] }), true],
  ])("%s: %s", (_, updated, changed) => {
    expect(poolNodeChanged(updated, node)).toBe(changed);
  });
});

describe("poolWakeDelayMs", () => {
  it.each([
    ["never run: at once", undefined, 5_000, 0],
    ["started long ago: at once", 1_000, 1_000 + POOL_RECONCILE_MIN_INTERVAL_MS + 1, 0],
    ["exactly the interval ago: at once", 1_000, 1_000 + POOL_RECONCILE_MIN_INTERVAL_MS, 0],
    ["started 300 ms ago: the rest of the interval", 1_000, 1_300, POOL_RECONCILE_MIN_INTERVAL_MS - 300],
    ["started just now: the whole interval", 1_000, 1_000, POOL_RECONCILE_MIN_INTERVAL_MS],
  ])("%s", (_, lastStartedAt, now, expected) => {
    expect(poolWakeDelayMs(lastStartedAt, now)).toBe(expected);
  });
});
