import { describe, expect, it } from "vitest";
import { OWNED_LABELS } from "../api/conditions.ts";
import { NODE_POD_UID_LABEL, POOL_STATE_LABEL } from "../api/names.ts";
import { poolTokenSecret, poolUserDataSecret, poolVirtualMachineInstance } from "./artifacts.ts";
import { defaultConfig, DEFAULT_VM_NAME, makeNode, makePod, makeTokenSecret, makeUserDataSecret, makeVmi, POD_UID } from "./fixtures.test-support.ts";
import { orphanCandidates } from "./orphans.ts";
import type { CacheReader } from "./reconciler.ts";

const GONE = "0a1b2c3d-4e5f-4a6b-8c7d-000000000000";
const readerOf = <T>(items: T[]): CacheReader<T> => ({ get: () => undefined, list: () => items });

describe("orphanCandidates", () => {
  it("names what a gone pod left, and nothing of a live pod or a node the controller did not name", () => {
    const caches = {
      pods: readerOf([makePod()]),
      vmis: readerOf([makeVmi(), makeVmi({ name: `marooned-${GONE}`, podUid: GONE })]),
      userDataSecrets: readerOf([makeUserDataSecret()]),
      tokens: readerOf([makeTokenSecret(), makeTokenSecret({ id: "gone01", podUid: GONE })]),
      nodes: readerOf([
        makeNode(),
        makeNode({ name: `marooned-${GONE}`, podUidLabel: GONE }),
        { metadata: { name: "worker-1", labels: { [NODE_POD_UID_LABEL]: GONE } } },
      ]),
    };
    expect(orphanCandidates({ caches, config: () => defaultConfig() }).map((o) => `${o.kind} ${o.name}`)).toEqual([
      `VirtualMachineInstance marooned-${GONE}`,
      "BootstrapToken bootstrap-token-gone01",
      `Node marooned-${GONE}`,
    ]);
    expect(DEFAULT_VM_NAME).toBe(`marooned-${POD_UID}`);
  });

  it("leaves an unclaimed pool VM, its Secrets and node alone (the pool's reconcile owns them); a claimed one whose pod is gone is an orphan", () => {
    const config = defaultConfig({ warmPool: { ...defaultConfig().warmPool, size: 1, vmResources: defaultConfig().sizing.base } });
    const unclaimed = poolVirtualMachineInstance("marooned-pool-aaaaaaaaaa", config);
    const claimed = poolVirtualMachineInstance("marooned-pool-bbbbbbbbbb", config);
    const claimedLabels = { ...claimed.metadata?.labels, [POOL_STATE_LABEL]: "claimed", [OWNED_LABELS.podUid]: GONE };
    const caches = {
      pods: readerOf([makePod()]),
      vmis: readerOf([unclaimed, { ...claimed, metadata: { ...claimed.metadata, labels: claimedLabels } }]),
      userDataSecrets: readerOf([poolUserDataSecret("marooned-pool-aaaaaaaaaa", config, "")]),
      tokens: readerOf([poolTokenSecret("marooned-pool-aaaaaaaaaa", { id: "pool01", secret: "0123456789abcdef" }, config, 0)]),
      nodes: readerOf([makeNode({ name: "marooned-pool-aaaaaaaaaa", podUidLabel: null })]),
    };
    expect(orphanCandidates({ caches, config: () => config }).map((o) => `${o.kind} ${o.name}`)).toEqual(["VirtualMachineInstance marooned-pool-bbbbbbbbbb"]);
  });
});

