import { describe, expect, it } from "vitest";
import { POD_CONDITIONS, REASONS, type Reason } from "../api/conditions.ts";
import type { ControllerConfig } from "./config.ts";
import {
  defaultConfig,
  DEFAULT_VM_NAME,
  makeNode,
  makeObserved,
  makePod,
  makeTokenSecret,
  makeUserDataSecret,
  makeVmi,
  NOW,
  podCondition,
  POD_UID,
  reportsOf,
} from "./fixtures.test-support.ts";
import { decideLiveness, replacementReason } from "./liveness.ts";
import { SKIP, type Action, type Observed } from "./observed.ts";

const MINUTE = 60_000;
const TIMEOUT = 10 * MINUTE;

/** A pod whose attempt number `attempts` launched `sinceMsAgo` ago. */
const launchedPod = (attempts: number, sinceMsAgo: number) =>
  makePod({ attempts, conditions: [podCondition(POD_CONDITIONS.VMLaunched, "True", REASONS.VMCreated, { sinceMsAgo })] });

/** Everything launch made, still present. */
const launched = (overrides: Partial<Observed> = {}): Observed =>
  makeObserved({ pod: launchedPod(1, MINUTE), vmi: makeVmi(), userDataSecret: makeUserDataSecret(), tokens: [makeTokenSecret()], ...overrides });

const DELETE_ALL_BUT_VMI: Action[] = [
  { kind: "deleteSecret", namespace: "maroonedpods-vms", name: `${DEFAULT_VM_NAME}-cloud-init` },
  { kind: "deleteSecret", namespace: "kube-system", name: "bootstrap-token-abc123" },
];
const DELETE_VMI: Action = { kind: "deleteVmi", namespace: "maroonedpods-vms", name: DEFAULT_VM_NAME };
const DELETE_NODE: Action = { kind: "deleteNode", name: DEFAULT_VM_NAME };

const replaced = (deletes: Action[], reason: Reason, message: string): Action[] => [
  ...deletes,
  { kind: "setCondition", condition: { type: POD_CONDITIONS.VMLaunched, status: "False", reason, message }, report: { type: "Warning", reason, message } },
];

describe("decideLiveness: a VM to replace", () => {
  it.each<[string, Partial<Observed>, Action[], Reason, string]>([
    ["a failed VMI", { vmi: makeVmi({ phase: "Failed" }) }, [DELETE_VMI, ...DELETE_ALL_BUT_VMI], REASONS.VMFailed, `VM ${DEFAULT_VM_NAME} failed`],
    ["a failed VMI whose node registered", { vmi: makeVmi({ phase: "Failed" }), node: makeNode() }, [DELETE_VMI, ...DELETE_ALL_BUT_VMI, DELETE_NODE], REASONS.VMFailed, `VM ${DEFAULT_VM_NAME} failed`],
    ["a VMI that disappeared", { vmi: undefined }, DELETE_ALL_BUT_VMI, REASONS.VMDisappeared, `VM ${DEFAULT_VM_NAME} disappeared`],
    ["a VMI that disappeared with nothing else left", { vmi: undefined, userDataSecret: undefined, tokens: [] }, [], REASONS.VMDisappeared, `VM ${DEFAULT_VM_NAME} disappeared`],
    [
      "no node past the registration timeout",
      { pod: launchedPod(1, TIMEOUT + 1) },
      [DELETE_VMI, ...DELETE_ALL_BUT_VMI],
      REASONS.RegistrationTimedOut,
      `no verified node for VM ${DEFAULT_VM_NAME} within 600s`,
    ],
    [
      "an unverified node past the registration timeout",
      { pod: launchedPod(2, TIMEOUT + 1), node: makeNode({ internalIps: ["10.9.9.9"] }) },
      [DELETE_VMI, ...DELETE_ALL_BUT_VMI, DELETE_NODE],
      REASONS.RegistrationTimedOut,
      `no verified node for VM ${DEFAULT_VM_NAME} within 600s`,
    ],
  ])("%s: deleted, VMLaunched False, a Warning", (_, overrides, deletes, reason, problem) => {
    const o = launched(overrides);
    expect(replacementReason(o)).toEqual({ reason, message: problem });
    expect(decideLiveness(o)).toEqual({ kind: "act", actions: replaced(deletes, reason, `${problem}; replacing it`) });
  });

  it.each<[string, Partial<Observed>, string]>([
    ["failed", { vmi: makeVmi({ phase: "Failed" }) }, `VM ${DEFAULT_VM_NAME} failed`],
    ["disappeared", { vmi: undefined }, `VM ${DEFAULT_VM_NAME} disappeared`],
    ["timed out", { pod: launchedPod(3, TIMEOUT + 1) }, `no verified node for VM ${DEFAULT_VM_NAME} within 600s`],
  ])("the last attempt %s: AttemptsExhausted", (_, overrides, problem) => {
    const o = launched({ pod: launchedPod(3, MINUTE), ...overrides });
    const result = decideLiveness(o);
    const message = `${problem}; gave up after 3 attempts`;
    expect(result.kind === "act" && result.actions.at(-1)).toEqual(
      { kind: "setCondition", condition: { type: POD_CONDITIONS.VMLaunched, status: "False", reason: REASONS.AttemptsExhausted, message }, report: { type: "Warning", reason: REASONS.AttemptsExhausted, message } },
    );
    expect(result.kind === "act" && result.actions.filter((a) => a.kind.startsWith("delete")).length).toBeGreaterThan(0);
  });

  it("uses the configured maxAttempts and registrationTimeout", () => {
    const config: ControllerConfig = { ...defaultConfig(), maxAttempts: 1, registrationTimeoutMs: 30_000 };
    const result = decideLiveness(launched({ config, pod: launchedPod(1, 30_001) }));
    expect(reportsOf(result)).toEqual([{
      type: "Warning",
      reason: REASONS.AttemptsExhausted,
      message: `no verified node for VM ${DEFAULT_VM_NAME} within 30s; gave up after 1 attempts`,
    }]);
  });
});

describe("decideLiveness: a healthy VM", () => {
  it.each([
    ["just launched", 0],
    ["a minute in", MINUTE],
    ["exactly at the deadline", TIMEOUT],
  ])("%s: not liveness's (registration waits for the deadline)", (_, sinceMsAgo) => {
    expect(decideLiveness(launched({ pod: launchedPod(1, sinceMsAgo) }))).toEqual(SKIP);
  });

  it("follows the fake clock", () => {
    const o = launched({ pod: launchedPod(1, 0) });
    expect(decideLiveness({ ...o, now: NOW + TIMEOUT - 5_000 })).toEqual(SKIP);
    expect(reportsOf(decideLiveness({ ...o, now: NOW + TIMEOUT + 1 }))).toMatchObject([{ reason: REASONS.RegistrationTimedOut }]);
  });

  it("has no registration timeout once its node is trusted", () => {
    const o = launched({ pod: launchedPod(1, 24 * 60 * MINUTE), node: makeNode({ trustedFor: POD_UID, ready: "False" }) });
    expect(replacementReason(o)).toBeUndefined();
    expect(decideLiveness(o)).toEqual(SKIP);
  });

  it("still replaces a trusted node's VM when the VMI fails", () => {
    const o = launched({ vmi: makeVmi({ phase: "Failed" }), node: makeNode({ trustedFor: POD_UID }) });
    expect(reportsOf(decideLiveness(o))).toMatchObject([{ reason: REASONS.VMFailed }]);
  });
});

describe("decideLiveness: not its business", () => {
  it.each<[string, Partial<Observed>]>([
    ["a released pod", { pod: makePod({ gated: false, attempts: 1, conditions: [podCondition(POD_CONDITIONS.VMLaunched, "True", REASONS.VMCreated, { sinceMsAgo: TIMEOUT * 2 })] }), vmi: undefined }],
    ["a pod never launched", { pod: makePod(), vmi: undefined }],
    ["a pod whose VM was just replaced", { pod: makePod({ attempts: 1, conditions: [podCondition(POD_CONDITIONS.VMLaunched, "False", REASONS.VMFailed)] }), vmi: undefined }],
    ["a pod that gave up", { pod: makePod({ attempts: 3, conditions: [podCondition(POD_CONDITIONS.VMLaunched, "False", REASONS.AttemptsExhausted, { sinceMsAgo: TIMEOUT * 2 })] }), vmi: undefined }],
  ])("%s", (_, overrides) => {
    expect(decideLiveness(launched(overrides))).toEqual(SKIP);
  });
});
