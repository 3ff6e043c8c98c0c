import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { REASONS } from "../api/conditions.ts";
import { createFailureReporter, REPORT_AFTER_FAILURES, REPORT_INTERVAL_MS } from "./failure-reports.ts";

function setup(pods: Record<string, V1Pod> = { "ns/web": { metadata: { namespace: "ns", name: "web", uid: "u" } } }) {
  let now = 0;
  const recorded: string[] = [];
  const reporter = createFailureReporter({
    events: { record: (object, type, reason, message) => { recorded.push(`${object.metadata?.name ?? ""} ${type} ${reason}: ${message}`); return Promise.resolve(); } },
    pod: (key) => pods[key],
    now: () => now,
  });
  return { reporter, recorded, advance: (ms: number) => { now += ms; } };
}

describe("createFailureReporter", () => {
  it(`says nothing before ${String(REPORT_AFTER_FAILURES)} failures in a row, then names the error`, () => {
    const { reporter, recorded } = setup();
    for (let failures = 1; failures < REPORT_AFTER_FAILURES; failures++) reporter.failed("ns/web", failures, new Error("createVmi vmi vms/x: forbidden"));
    expect(recorded).toEqual([]);
    reporter.failed("ns/web", REPORT_AFTER_FAILURES, new Error("createVmi vmi vms/x: forbidden"));
    expect(recorded).toEqual([`web Warning ${REASONS.ReconcileFailed}: reconcile failed 3 times in a row: createVmi vmi vms/x: forbidden`]);
  });

  it("reports a pod at most once per interval, by the injected clock", () => {
    const { reporter, recorded, advance } = setup();
    reporter.failed("ns/web", 3, "x");
    advance(REPORT_INTERVAL_MS - 1);
    reporter.failed("ns/web", 9, "x");
    expect(recorded).toHaveLength(1);
    advance(1);
    reporter.failed("ns/web", 10, "x");
    expect(recorded).toHaveLength(2);
  });

  it("reports afresh after a success, and never for a pod that is gone", () => {
    const { reporter, recorded } = setup();
    reporter.failed("ns/web", 3, "x");
    reporter.succeeded("ns/web");
    reporter.failed("ns/web", 3, "y");
    reporter.failed("ns/gone", 5, "z");
    expect(recorded.map((r) => r.slice(-1))).toEqual(["x", "y"]);
  });
});
