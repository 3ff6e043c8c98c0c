import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";

interface Stage {
  metadata: { name: string };
  spec: { resourceRef: { kind: string }; delay?: { durationMilliseconds: number } };
}

function stagesIn(file: string): Stage[] {
  const text = readFileSync(fileURLToPath(new URL(file, import.meta.url)), "utf8");
  return parseAllDocuments(text).map((document) => document.toJS() as Stage);
}

describe("kwok node stages", () => {
  const stages = stagesIn("./kwok-node-stages.yaml");

  it("defines node stages, so kwok's built-in heartbeat stage is not loaded", () => {
    expect(stages.map((s) => s.spec.resourceRef.kind)).toEqual(["Node", "Node"]);
  });

  it("readies a node at once and reports its status no more often than a kubelet with a lease (5 min)", () => {
    const byName = new Map(stages.map((s) => [s.metadata.name, s]));
    expect(byName.get("node-becomes-ready")?.spec.delay).toBeUndefined();
    expect(byName.get("node-status-report")?.spec.delay?.durationMilliseconds).toBeGreaterThanOrEqual(300_000);
  });
});
