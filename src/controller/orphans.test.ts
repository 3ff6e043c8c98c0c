import { describe, expect, it } from "vitest";
import { NODE_POD_UID_LABEL } from "../api/names.ts";
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
});
