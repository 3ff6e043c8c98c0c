import type { V1Secret } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { OWNED_LABELS, POD_CONDITIONS, REASONS } from "../api/conditions.ts";
import { KUBEADM_NODE_BOOTSTRAP_GROUP, NODE_POD_UID_LABEL, NODE_VM_LABEL } from "../api/names.ts";
import { JOIN_INFO_PATH, type JoinInfo } from "../joininfo/join-info.ts";
import { USER_DATA_SECRET_KEY } from "./artifacts.ts";
import {
  actionsOf,
  API_SERVER,
  CA_CERT_HASH,
  countingBytes,
  defaultConfig,
  DEFAULT_VM_NAME,
  kindsOf,
  makeNode,
  makeObserved,
  makePod,
  makeTokenSecret,
  makeUserDataSecret,
  makeVmi,
  noRandomBytes,
  NOW,
  podCondition,
  POD_NAME,
  POD_NAMESPACE,
  POD_UID,
  reportsOf,
  requeueOf,
  writeFilesOf,
  writtenJoinInfo,
} from "./fixtures.test-support.ts";
import { decideLaunch } from "./launch.ts";
import { SKIP, type Observed, type PhaseResult } from "./observed.ts";
import { sizeVm } from "./sizing.ts";

/** countingBytes() draws 0..5 for the id and 6..21 for the secret. */
const COUNTING_TOKEN = { id: "abcdef", secret: "ghijklmnopqrstuv" };
const launch = (o: Observed) => decideLaunch(o, countingBytes());

/** The join info inside a user-data Secret's #cloud-config, through the node image's own parser. */
function joinInfoIn(secret: V1Secret | undefined): JoinInfo {
  const userData = secret?.stringData?.[USER_DATA_SECRET_KEY] ?? "";
  expect(userData.startsWith("#cloud-config\n")).toBe(true);
  const files = writeFilesOf(userData);
  expect(files.map((f) => [f.path, f.permissions, f.owner])).toEqual([[JOIN_INFO_PATH, "0600", "root:root"]]);
  const parsed = writtenJoinInfo(userData);
  if (!parsed.ok) throw new Error(`join info does not parse: ${parsed.errors.join("; ")}`);
  return parsed.joinInfo;
}

const expectedJoinInfo = (token: string): JoinInfo => ({
  version: 1,
  join_method: "k3s",
  server_url: API_SERVER,
  token,
  ca_cert_hash: CA_CERT_HASH,
  node_name: `marooned-${POD_UID}`,
  pod_uid: POD_UID,
  taint_key: "maroonedpods.io",
  labels: { [NODE_POD_UID_LABEL]: POD_UID, [NODE_VM_LABEL]: `marooned-${POD_UID}` },
  taints: [{ key: "maroonedpods.io/dedicated", value: POD_UID, effect: "NoSchedule" }],
});

describe("decideLaunch: first launch", () => {
  const o = makeObserved();
  const result = launch(o);

  it("creates the token Secret, the user data, the VMI, then records the launch", () => {
    expect(requeueOf(result)).toBeUndefined();
    expect(kindsOf(result)).toEqual(["createSecret", "createSecret", "createVmi", "setCondition", "setCondition", "setCondition"]);
  });

  it("mints the token into a bootstrap token Secret in kube-system, labeled with the pod UID", () => {
    const token = actionsOf(result, "createSecret")[0]?.secret;
    expect(token).toEqual({
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: `bootstrap-token-${COUNTING_TOKEN.id}`,
        namespace: "kube-system",
        labels: { [OWNED_LABELS.podUid]: POD_UID, [OWNED_LABELS.podNamespace]: POD_NAMESPACE, [OWNED_LABELS.component]: "maroonedpods-controller" },
        annotations: { "maroonedpods.io/pod-name": POD_NAME },
      },
      type: "bootstrap.kubernetes.io/token",
      stringData: {
        "token-id": COUNTING_TOKEN.id,
        "token-secret": COUNTING_TOKEN.secret,
        expiration: "2025-06-01T12:30:00Z",
        "usage-bootstrap-authentication": "true",
        "auth-extra-groups": KUBEADM_NODE_BOOTSTRAP_GROUP,
        description: `MaroonedPods node join for pod ${POD_NAMESPACE}/${POD_NAME}`,
      },
    });
  });

  it("lets the token sign cluster-info only for kubeadm, whose discovery checks that signature", () => {
    const kubeadm = launch(makeObserved({ config: defaultConfig({ joinMethod: "kubeadm" }) }));
    expect(actionsOf(kubeadm, "createSecret")[0]?.secret.stringData).toMatchObject({ "usage-bootstrap-signing": "true" });
    expect(actionsOf(result, "createSecret")[0]?.secret.stringData).not.toHaveProperty("usage-bootstrap-signing");
  });

  it("renders user data in the VM namespace whose join info parses to the expected contract", () => {
    const userData = actionsOf(result, "createSecret")[1]?.secret;
    expect(userData?.metadata?.namespace).toBe("maroonedpods-vms");
    expect(userData?.metadata?.name).toBe(`${DEFAULT_VM_NAME}-cloud-init`);
    expect(userData?.metadata?.labels?.[OWNED_LABELS.podUid]).toBe(POD_UID);
    expect(userData?.type).toBe("Opaque");
    expect(joinInfoIn(userData)).toEqual(expectedJoinInfo(`${COUNTING_TOKEN.id}.${COUNTING_TOKEN.secret}`));
  });

  it("creates the VMI booting the node image with the user data from its Secret", () => {
    const vmi = actionsOf(result, "createVmi")[0]?.vmi;
    expect(vmi?.metadata).toMatchObject({ name: DEFAULT_VM_NAME, namespace: "maroonedpods-vms", labels: { [OWNED_LABELS.podUid]: POD_UID } });
    expect(vmi?.spec.hostname).toBe(DEFAULT_VM_NAME);
    expect(vmi?.spec.volumes).toEqual([
      { name: "containerdisk", containerDisk: { image: defaultConfig().nodeImage } },
      { name: "cloudinitdisk", cloudInitNoCloud: { secretRef: { name: `${DEFAULT_VM_NAME}-cloud-init` } } },
    ]);
    expect(vmi?.spec.domain.devices.interfaces).toEqual([{ name: "default", bridge: {} }]);
    expect(vmi?.spec.networks).toEqual([{ name: "default", pod: {} }]);
    expect(vmi?.spec.domain.firmware).toBeUndefined();
  });

  it("joins the pod network with passt when configured, never masquerade", () => {
    const passt = actionsOf(launch(makeObserved({ config: defaultConfig({ networkBinding: "passt" }) })), "createVmi")[0]?.vmi;
    expect(passt?.spec.domain.devices.interfaces).toEqual([{ name: "default", passtBinding: {} }]);
  });

  it("never puts the token into the VMI", () => {
    const vmi = JSON.stringify(actionsOf(result, "createVmi")[0]?.vmi);
    expect(vmi).not.toContain(COUNTING_TOKEN.secret);
  });

  it("records VMLaunched True, attempt 1 and NodeRegistered False in the pod's status, writes no annotation, and records a Normal event", () => {
    const message = `VM ${DEFAULT_VM_NAME} created (attempt 1 of 3)`;
    expect(actionsOf(result, "annotatePod")).toEqual([]);
    expect(actionsOf(result, "setCondition")).toEqual([
      { kind: "setCondition", condition: { type: POD_CONDITIONS.VMLaunched, status: "True", reason: REASONS.VMCreated, message } },
      { kind: "setCondition", condition: { type: POD_CONDITIONS.VMAttempts, status: "True", reason: REASONS.VMCreated, message: "attempt 1 of 3" } },
      {
        kind: "setCondition",
        condition: { type: POD_CONDITIONS.NodeRegistered, status: "False", reason: REASONS.WaitingForNode, message: `waiting for node ${DEFAULT_VM_NAME} to register` },
      },
    ]);
    expect(reportsOf(result)).toEqual([{ type: "Normal", reason: REASONS.VMCreated, message }]);
    expect(actionsOf(result, "createVmi")[0]?.report).toEqual({ type: "Normal", reason: REASONS.VMCreated, message });
  });

  it("is deterministic for a given byte source", () => {
    expect(launch(makeObserved())).toEqual(result);
    const other = decideLaunch(makeObserved(), countingBytes(100));
    expect(actionsOf(other, "createSecret")[0]?.secret.stringData?.["token-id"]).not.toBe(COUNTING_TOKEN.id);
  });
});

describe("decideLaunch: VM sizing and kernel boot", () => {
  it.each([
    // Memory: requests + overhead, plus the default guest reserve of 256Mi.
    ["the fixture's requests plus the overhead", {}, { cpu: "1500m", memory: "1792Mi", cores: 2 }],
    ["whole CPUs plus the overhead", { cpu: "2", memory: "3Gi" }, { cpu: "3", memory: "4352Mi", cores: 3 }],
    ["a fraction of a CPU rounds the vCPUs up", { cpu: "100m", memory: "2Gi" }, { cpu: "1100m", memory: "3328Mi", cores: 2 }],
  ])("%s", (_, requests, expected) => {
    const o = makeObserved({ pod: makePod({ requests }) });
    const vmi = actionsOf(launch(o), "createVmi")[0]?.vmi;
    expect(vmi?.spec.domain.resources?.requests).toEqual({ cpu: expected.cpu, memory: expected.memory });
    expect(vmi?.spec.domain.memory?.guest).toBe(expected.memory);
    expect(vmi?.spec.domain.cpu?.cores).toBe(expected.cores);
    const size = sizeVm(o.pod, o.config.sizing);
    expect(size.ok && size.guestCpus).toBe(expected.cores);
  });

  it("adds kernelBoot only when enabled", () => {
    const kernelBoot = { kernelPath: "/boot/vmlinuz", initrdPath: "/boot/initrd", kernelArgs: "console=ttyS0 quiet" };
    const config = defaultConfig({ kernelBoot, nodeImage: "registry.example/node:1" });
    const vmi = actionsOf(launch(makeObserved({ config })), "createVmi")[0]?.vmi;
    expect(vmi?.spec.domain.firmware).toEqual({
      kernelBoot: { kernelArgs: kernelBoot.kernelArgs, container: { image: "registry.example/node:1", kernelPath: "/boot/vmlinuz", initrdPath: "/boot/initrd" } },
    });
  });
});

describe("decideLaunch: an existing token", () => {
  const token = makeTokenSecret({ id: "xyz789", secret: "fedcba9876543210" });

  it("is reused, and the missing user data is rendered with it", () => {
    const result = decideLaunch(makeObserved({ tokens: [token] }), noRandomBytes);
    expect(kindsOf(result)).toEqual(["createSecret", "createVmi", "setCondition", "setCondition", "setCondition"]);
    const userData = actionsOf(result, "createSecret")[0]?.secret;
    expect(userData?.metadata?.namespace).toBe("maroonedpods-vms");
    expect(joinInfoIn(userData).token).toBe("xyz789.fedcba9876543210");
  });

  it("is reused, and present user data is left alone", () => {
    const result = decideLaunch(makeObserved({ tokens: [token], userDataSecret: makeUserDataSecret() }), noRandomBytes);
    expect(kindsOf(result)).toEqual(["createVmi", "setCondition", "setCondition", "setCondition"]);
  });

  it("skips a token Secret without token data", () => {
    const empty: V1Secret = { ...token, data: {} };
    const result = launch(makeObserved({ tokens: [empty] }));
    expect(actionsOf(result, "createSecret")[0]?.secret.stringData?.["token-id"]).toBe(COUNTING_TOKEN.id);
  });

  it("when absent, user data from an earlier token is replaced", () => {
    const result = launch(makeObserved({ userDataSecret: makeUserDataSecret() }));
    expect(result.kind === "act" && result.actions.slice(0, 3)).toEqual([
      expect.objectContaining({ kind: "createSecret", secret: expect.objectContaining({ type: "bootstrap.kubernetes.io/token" }) as unknown }),
      { kind: "deleteSecret", namespace: "maroonedpods-vms", name: `${DEFAULT_VM_NAME}-cloud-init` },
      expect.objectContaining({ kind: "createSecret", secret: expect.objectContaining({ type: "Opaque" }) as unknown }),
    ]);
    expect(joinInfoIn(actionsOf(result, "createSecret")[1]?.secret).token).toBe(`${COUNTING_TOKEN.id}.${COUNTING_TOKEN.secret}`);
  });
});

describe("decideLaunch: nothing to do", () => {
  const launched = (reason: (typeof REASONS)[keyof typeof REASONS], status: "True" | "False") =>
    makePod({ attempts: 1, conditions: [podCondition(POD_CONDITIONS.VMLaunched, status, reason, { sinceMsAgo: 3_600_000 })] });

  it.each<[string, Partial<Observed>, PhaseResult]>([
    ["the pod is not gated: not launch's", { pod: makePod({ gated: false }) }, SKIP],
    ["the VMI exists: not launch's", { pod: launched(REASONS.VMCreated, "True"), vmi: makeVmi() }, SKIP],
    ["VMLaunched is True (the VMI vanished: liveness decides)", { pod: launched(REASONS.VMCreated, "True") }, SKIP],
    ["attempts are exhausted: launch's, and nothing more to try", { pod: launched(REASONS.AttemptsExhausted, "False") }, { kind: "wait" }],
  ])("%s", (_, overrides, expected) => {
    expect(decideLaunch(makeObserved(overrides), noRandomBytes)).toEqual(expected);
  });
});

describe("decideLaunch: a pod refused for its size", () => {
  it("is launched once the maximum allows it, without a restart", () => {
    const refused = makePod({ conditions: [podCondition(POD_CONDITIONS.VMLaunched, "False", REASONS.VMSizeExceedsMaximum)] });
    expect(kindsOf(decideLaunch(makeObserved({ pod: refused }), countingBytes()))).toContain("createVmi");
  });
});

describe("decideLaunch: a pod too big for the maximum VM", () => {
  it.each([
    ["CPU", { cpu: "16" }, /pod requests 16 CPU \+ 1 overhead = 17, above the maximum 16 by 1/],
    ["memory", { memory: "64Gi" }, /pod requests 64Gi memory \+ 1Gi overhead = 65Gi, above the maximum 64Gi by 1Gi/],
  ])("%s: VMSizeExceedsMaximum and a Warning, nothing created", (_, requests, message) => {
    const result = decideLaunch(makeObserved({ pod: makePod({ requests }) }), noRandomBytes);
    expect(kindsOf(result)).toEqual(["setCondition"]);
    const [set] = actionsOf(result, "setCondition");
    expect(set?.condition).toMatchObject({ type: POD_CONDITIONS.VMLaunched, status: "False", reason: REASONS.VMSizeExceedsMaximum });
    expect(set?.condition.message).toMatch(message);
    expect(reportsOf(result)).toEqual([{ type: "Warning", reason: REASONS.VMSizeExceedsMaximum, message: set?.condition.message }]);
  });
});

describe("decideLaunch: retries", () => {
  /** A pod whose previous VM was replaced by liveness `sinceMsAgo` ago, after `attempts` attempts. */
  const retrying = (attempts: number, sinceMsAgo: number) =>
    makePod({ attempts, conditions: [podCondition(POD_CONDITIONS.VMLaunched, "False", REASONS.VMFailed, { sinceMsAgo })] });

  it.each([
    ["attempt 2, just replaced", 1, 0, 1_000],
    ["attempt 2, 200ms after", 1, 200, 800],
    ["attempt 3 waits twice as long", 2, 1_500, 500],
  ])("%s: only a requeue until the backoff is due", (_, attempts, sinceMsAgo, requeueAfterMs) => {
    expect(decideLaunch(makeObserved({ pod: retrying(attempts, sinceMsAgo) }), noRandomBytes)).toEqual({ kind: "wait", requeueAfterMs });
  });

  it.each([
    [1, 1_000, "2"],
    [2, 2_000, "3"],
  ])("after %i attempts and %ims, launches attempt %s", (attempts, sinceMsAgo, next) => {
    const result = launch(makeObserved({ pod: retrying(attempts, sinceMsAgo) }));
    expect(actionsOf(result, "createVmi")).toHaveLength(1);
    expect(actionsOf(result, "setCondition").find((a) => a.condition.type === POD_CONDITIONS.VMAttempts)?.condition.message).toBe(`attempt ${next} of 3`);
    expect(actionsOf(result, "setCondition")[0]?.condition.message).toBe(`VM ${DEFAULT_VM_NAME} created (attempt ${next} of 3)`);
  });

  it("deletes the previous attempt's node before reusing its name", () => {
    const result = decideLaunch(makeObserved({ pod: retrying(1, 5_000), node: makeNode() }), noRandomBytes);
    expect(result).toEqual({ kind: "act", actions: [{ kind: "deleteNode", name: DEFAULT_VM_NAME }] });
  });

  it("measures the backoff with the injected clock", () => {
    const o = makeObserved({ pod: retrying(1, 0) });
    expect(decideLaunch({ ...o, now: NOW + 999 }, noRandomBytes)).toEqual({ kind: "wait", requeueAfterMs: 1 });
    expect(actionsOf(decideLaunch({ ...o, now: NOW + 1_000 }, countingBytes()), "createVmi")).toHaveLength(1);
  });

  it("caps the backoff, so a large count cannot overflow the timer", () => {
    expect(decideLaunch(makeObserved({ pod: retrying(999_999, 0), config: defaultConfig({ maxAttempts: 1_000_000 }) }), noRandomBytes)).toEqual({ kind: "wait", requeueAfterMs: 5 * 60_000 });
  });
});

describe("decideLaunch: names out of the tenant's reach", () => {
  it("derives the VM name and the attempt from the UID and the pod's status only, whatever its annotations say", () => {
    const pod = makePod({ annotations: { "maroonedpods.io/vm": "worker-1", "maroonedpods.io/vm-attempts": "99999999999" } });
    const result = launch(makeObserved({ pod }));
    expect(actionsOf(result, "createVmi")[0]?.vmi.metadata?.name).toBe(DEFAULT_VM_NAME);
    expect(actionsOf(result, "setCondition").find((a) => a.condition.type === POD_CONDITIONS.VMAttempts)?.condition.message).toBe("attempt 1 of 3");
  });

  it.each<[string, Partial<Parameters<typeof makeNode>[0]>]>([
    ["a shared worker's node under the name", { podUidLabel: null }],
    ["a node claiming another pod's UID", { podUidLabel: "0a1b2c3d-4e5f-4a6b-8c7d-000000000000" }],
  ])("mints no token and makes no VM when the name is taken by %s", (_, nodeOptions) => {
    const result = decideLaunch(makeObserved({ node: makeNode(nodeOptions) }), noRandomBytes);
    expect(kindsOf(result)).toEqual(["setCondition"]);
    expect(actionsOf(result, "setCondition")[0]?.condition).toMatchObject({ type: POD_CONDITIONS.VMLaunched, status: "False", reason: REASONS.NodeNameInUse });
    expect(reportsOf(result)).toMatchObject([{ type: "Warning", reason: REASONS.NodeNameInUse }]);
    expect(requeueOf(result)).toBeGreaterThan(0);
  });

  it("removes a node its own VM left under the name before a first recorded attempt", () => {
    expect(decideLaunch(makeObserved({ node: makeNode() }), noRandomBytes)).toEqual({ kind: "act", actions: [{ kind: "deleteNode", name: DEFAULT_VM_NAME }] });
  });

  it.each<[string, string]>([
    ["a UID that is not a UUID", "worker-1"],
    ["an upper-case UID whose name would differ", "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D"],
  ])("mints no token for %s", (_, uid) => {
    const result = decideLaunch(makeObserved({ pod: makePod({ uid }) }), noRandomBytes);
    expect(actionsOf(result, "setCondition")[0]?.condition).toMatchObject({ status: "False", reason: REASONS.NodeNameInUse });
    expect(actionsOf(result, "createSecret")).toEqual([]);
  });
});

describe("decideLaunch: a VM never costs more than the pod is charged", () => {
  it("refuses a pod without the RuntimeClass overhead: VMCostExceedsCharge and a Warning, nothing created", () => {
    const pod = makePod();
    delete pod.spec?.overhead;
    const result = decideLaunch(makeObserved({ pod }), noRandomBytes);
    expect(kindsOf(result)).toEqual(["setCondition"]);
    expect(actionsOf(result, "setCondition")[0]?.condition).toMatchObject({ type: POD_CONDITIONS.VMLaunched, status: "False", reason: REASONS.VMCostExceedsCharge });
    expect(reportsOf(result)[0]).toMatchObject({ type: "Warning", reason: REASONS.VMCostExceedsCharge });
  });

  it("sizes the VM to the charge plus the fixed guest reserve with the defaults", () => {
    const vmi = actionsOf(launch(makeObserved()), "createVmi")[0]?.vmi;
    // requests 500m / 512Mi plus the RuntimeClass overhead 1 / 1Gi, which the pod was charged.
    expect(vmi?.spec.domain.resources?.requests).toEqual({ cpu: "1500m", memory: "1792Mi" });
  });

});

describe("decideLaunch: a launch whose bookkeeping was lost", () => {
  it("records a VMI that exists without a VMLaunched condition, so liveness can time it out", () => {
    const result = decideLaunch(makeObserved({ vmi: makeVmi({ phase: "Scheduling" }) }), noRandomBytes);
    expect(result.kind === "act" && result.actions).toEqual([
      {
        kind: "setCondition",
        condition: { type: POD_CONDITIONS.VMLaunched, status: "True", reason: REASONS.VMCreated, message: `VM ${DEFAULT_VM_NAME} created (attempt 1 of 3)` },
      },
      { kind: "setCondition", condition: { type: POD_CONDITIONS.VMAttempts, status: "True", reason: REASONS.VMCreated, message: "attempt 1 of 3" } },
    ]);
  });

  it("keeps an attempt count that was recorded", () => {
    const result = decideLaunch(makeObserved({ pod: makePod({ attempts: 2 }), vmi: makeVmi() }), noRandomBytes);
    expect(actionsOf(result, "setCondition").find((a) => a.condition.type === POD_CONDITIONS.VMAttempts)?.condition.message).toBe("attempt 2 of 3");
  });

  it("does not touch a VMI that liveness is replacing", () => {
    const pod = makePod({ attempts: 1, conditions: [podCondition(POD_CONDITIONS.VMLaunched, "False", REASONS.VMFailed)] });
    expect(decideLaunch(makeObserved({ pod, vmi: makeVmi({ phase: "Failed" }) }), noRandomBytes)).toEqual(SKIP);
  });

  it("ignores a released pod", () => {
    expect(decideLaunch(makeObserved({ pod: makePod({ gated: false }), vmi: makeVmi() }), noRandomBytes)).toEqual(SKIP);
  });
});
