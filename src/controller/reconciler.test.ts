import type { V1Node, V1Pod, V1Secret } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { pino } from "pino";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { POD_CONDITIONS, REASONS } from "../api/conditions.ts";
import { CLEANUP_FINALIZER } from "../api/names.ts";
import type { EventRecorder } from "../kube/events.ts";
import type { ClusterWriter } from "./cluster-writer.ts";
import {
  CA_CERT_HASH,
  countingBytes,
  defaultConfig,
  DEFAULT_VM_NAME,
  makeNode,
  makePod,
  makeTokenSecret,
  makeUserDataSecret,
  makeVmi,
  NOW,
  podCondition,
  POD_NAME,
  POD_NAMESPACE,
  POD_UID,
  type PodOptions,
  VM_IP,
} from "./fixtures.test-support.ts";
import { podCensus } from "./census.ts";
import { createControllerMetrics } from "./metrics.ts";
import { createReconciler, WriteFailedError, type CacheReader } from "./reconciler.ts";
import type { ControllerConfig } from "./config.ts";
import { poolUserDataSecret, poolVirtualMachineInstance } from "./artifacts.ts";
import { OWNED_LABELS } from "../api/conditions.ts";
import { NODE_POD_UID_LABEL, POOL_LABEL, POOL_STATE_LABEL } from "../api/names.ts";

/** A cache reader over fixed objects, keyed as the list-watch cache keys them. */
function cacheOf<T extends { metadata?: { name?: string; namespace?: string } }>(objects: readonly T[]): CacheReader<T> {
  return {
    get: (namespace, name) => objects.find((o) => o.metadata?.name === name && (namespace === undefined || o.metadata.namespace === namespace)),
    list: () => [...objects],
  };
}

interface World {
  pod: V1Pod;
  vmis?: V1VirtualMachineInstance[];
  userDataSecrets?: V1Secret[];
  tokens?: V1Secret[];
  nodes?: V1Node[];
  config?: ControllerConfig;
}

/** Every write as `verb target`, in order; `effect` says which writes find their work already done. */
function recordingWriter(effect: (call: string) => boolean = () => true): ClusterWriter & { calls: string[] } {
  const calls: string[] = [];
  const record = (call: string) => {
    calls.push(call);
    return Promise.resolve(effect(call));
  };
  const podName = (pod: V1Pod) => `${pod.metadata?.namespace ?? ""}/${pod.metadata?.name ?? ""}`;
  return {
    calls,
    createSecret: (secret) => record(`createSecret ${secret.metadata?.namespace ?? ""}/${secret.type === "Opaque" ? secret.metadata?.name ?? "" : "token"}`),
    createVmi: (namespace, vmi) => record(`createVmi ${namespace}/${vmi.metadata?.name ?? ""}`),
    deleteVmi: (namespace, name) => record(`deleteVmi ${namespace}/${name}`),
    deleteSecret: (namespace, name) => record(`deleteSecret ${namespace}/${name}`),
    deleteNode: (name) => record(`deleteNode ${name}`),
    labelNode: (name) => record(`labelNode ${name}`),
    releasePod: (pod) => record(`releasePod ${podName(pod)}`),
    annotatePod: (pod) => record(`annotatePod ${podName(pod)}`),
    removeFinalizer: (pod) => record(`removeFinalizer ${podName(pod)}`),
    patchConditions: (pod, conditions) => record(`patchConditions ${podName(pod)} ${conditions.map((c) => `${c.type.replace("maroonedpods.io/", "")}=${c.status}`).join(",")}`),
    claimVmi: (namespace, name, pod) => record(`claimVmi ${namespace}/${name} ${pod.uid}`),
    claimNode: (name, podUid, _prefix, cached) => record(`claimNode ${name} ${podUid}${cached ? " (cached)" : ""}`),
    deletePoolVmi: (namespace, name) => record(`deletePoolVmi ${namespace}/${name}`),
    listPoolVmis: () => Promise.resolve([]),
    reportWarmPool: () => record("reportWarmPool"),
    listVmiByName: () => Promise.resolve(undefined),
  };
}

function recordingEvents(): EventRecorder & { reasons: string[] } {
  const reasons: string[] = [];
  return {
    reasons,
    record: (_object, type, reason) => {
      reasons.push(`${type} ${reason}`);
      return Promise.resolve();
    },
  };
}

async function reconcileOnce(world: World, writer = recordingWriter()) {
  const events = recordingEvents();
  const reconcile = createReconciler({
    caches: {
      pods: cacheOf([world.pod]),
      vmis: cacheOf(world.vmis ?? []),
      userDataSecrets: cacheOf(world.userDataSecrets ?? []),
      tokens: cacheOf(world.tokens ?? []),
      nodes: cacheOf(world.nodes ?? []),
    },
    writer,
    config: () => world.config ?? defaultConfig(),
    caCertHash: () => Promise.resolve(CA_CERT_HASH),
    clock: { now: () => NOW },
    randomBytes: countingBytes(),
    events,
    metrics: createControllerMetrics(new Registry(), () => ({}), () => podCensus([], NOW)),
    logger: pino({ level: "silent" }),
  });
  const result = await reconcile(`${POD_NAMESPACE}/${POD_NAME}`);
  return { writes: writer.calls, events: events.reasons, result };
}

const POD = `${POD_NAMESPACE}/${POD_NAME}`;
const VMS = "maroonedpods-vms";
const launchedAgo = (ms: number, extra: PodOptions = {}) =>
  makePod({ attempts: 1, ...extra, conditions: [podCondition(POD_CONDITIONS.VMLaunched, "True", REASONS.VMCreated, { sinceMsAgo: ms }), ...(extra.conditions ?? [])] });
const running = { vmis: [makeVmi()], userDataSecrets: [makeUserDataSecret()] };
const withFinalizers = (pod: V1Pod, finalizers: string[]): V1Pod => ({ ...pod, metadata: { ...pod.metadata, finalizers } });

describe("one reconcile, from the snapshot to the writes in order", () => {
  it.each<[string, World, string[], string[]]>([
    [
      "new: token, user data, VMI, then the launch records in one status patch",
      { pod: makePod() },
      [`createSecret kube-system/token`, `createSecret ${VMS}/${DEFAULT_VM_NAME}-cloud-init`, `createVmi ${VMS}/${DEFAULT_VM_NAME}`, `patchConditions ${POD} VMLaunched=True,VMAttempts=True,NodeRegistered=False`],
      ["Normal VMCreated"],
    ],
    ["launched, no node yet, already said so: nothing", { pod: launchedAgo(1_000, { conditions: [podCondition(POD_CONDITIONS.NodeRegistered, "False", REASONS.WaitingForNode, { message: `waiting for node ${DEFAULT_VM_NAME} to register` })] }), ...running, tokens: [makeTokenSecret()] }, [], []],
    [
      "registered and Ready: trusted, released in the same reconcile, then the records and the spent token together",
      { pod: launchedAgo(1_000), ...running, tokens: [makeTokenSecret()], nodes: [makeNode()] },
      [`labelNode ${DEFAULT_VM_NAME}`, `releasePod ${POD}`, `patchConditions ${POD} NodeRegistered=True,NodeTrusted=True`, "deleteSecret kube-system/bootstrap-token-abc123"],
      ["Normal PodReleased"],
    ],
    [
      "trusted and Ready, records written: released",
      { pod: launchedAgo(1_000, { conditions: [podCondition(POD_CONDITIONS.NodeTrusted, "True", REASONS.NodeTrusted)] }), ...running, nodes: [makeNode({ trustedFor: POD_UID })] },
      [`releasePod ${POD}`],
      ["Normal PodReleased"],
    ],
    [
      "released, its node gone NotReady: NodeReady False and a Warning, the pod left where it is",
      { pod: makePod({ gated: false, phase: "Running" }), ...running, nodes: [makeNode({ trustedFor: POD_UID, ready: "Unknown" })] },
      [`patchConditions ${POD} NodeReady=False`],
      ["Warning NodeNotReady"],
    ],
    ["released, all recorded: nothing", { pod: makePod({ gated: false, phase: "Running", annotations: { "maroonedpods.io/node": DEFAULT_VM_NAME }, conditions: [podCondition(POD_CONDITIONS.NodeRegistered, "True", REASONS.NodeRegistered), podCondition(POD_CONDITIONS.NodeTrusted, "True", REASONS.NodeTrusted)] }), ...running, nodes: [makeNode({ trustedFor: POD_UID })] }, [], []],
    [
      "finished with its VM: everything goes, the finalizer not yet",
      { pod: makePod({ gated: false, phase: "Succeeded" }), ...running, tokens: [makeTokenSecret()], nodes: [makeNode({ trustedFor: POD_UID })] },
      [`deleteVmi ${VMS}/${DEFAULT_VM_NAME}`, `deleteSecret ${VMS}/${DEFAULT_VM_NAME}-cloud-init`, "deleteSecret kube-system/bootstrap-token-abc123", `deleteNode ${DEFAULT_VM_NAME}`],
      [],
    ],
    ["finished, nothing left: the finalizer goes", { pod: makePod({ gated: false, phase: "Succeeded" }) }, [`removeFinalizer ${POD}`], ["Normal TornDown"]],
    ["deleting while gated, with our finalizer and nothing left: the finalizer goes", { pod: makePod({ deleting: true }) }, [`removeFinalizer ${POD}`], ["Normal TornDown"]],
    ["deleting while gated, our finalizer gone: no VM, nothing", { pod: makePod({ deleting: true, finalizer: false }) }, [], []],
    ["deleting while gated, held by another finalizer only: no VM, nothing", { pod: withFinalizers(makePod({ deleting: true }), ["example.com/hold"]) }, [], []],
    [
      "deleting while gated, held by another finalizer, VM still booting: the VM goes, none is made",
      { pod: withFinalizers(launchedAgo(1_000, { deleting: true }), ["example.com/hold"]), ...running },
      [`deleteVmi ${VMS}/${DEFAULT_VM_NAME}`, `deleteSecret ${VMS}/${DEFAULT_VM_NAME}-cloud-init`],
      [],
    ],
  ])("%s", async (_, world, writes, events) => {
    const outcome = await reconcileOnce(world);
    expect(outcome.writes).toEqual(writes);
    expect(outcome.events).toEqual(events);
  });

  it("never launches for a finished pod, whatever else it lacks", async () => {
    for (const pod of [makePod({ phase: "Failed", finalizer: false }), withFinalizers(makePod({ deleting: true }), ["example.com/hold", CLEANUP_FINALIZER])]) {
      const { writes } = await reconcileOnce({ pod });
      expect(writes.filter((w) => w.startsWith("create"))).toEqual([]);
    }
  });
});

describe("records only after their write", () => {
  it("no PodReleased when the release found nothing to release", async () => {
    const writer = recordingWriter((call) => !call.startsWith("releasePod"));
    const { writes, events } = await reconcileOnce({ pod: launchedAgo(1_000, { conditions: [podCondition(POD_CONDITIONS.NodeTrusted, "True", REASONS.NodeTrusted)] }), ...running, nodes: [makeNode({ trustedFor: POD_UID })] }, writer);
    expect(writes).toEqual([`releasePod ${POD}`]);
    expect(events).toEqual([]);
  });

  it("no VMCreated when the VMI existed already; no TornDown when the finalizer was gone", async () => {
    const exists = recordingWriter((call) => !call.startsWith("createVmi") && !call.startsWith("removeFinalizer"));
    expect((await reconcileOnce({ pod: makePod() }, exists)).events).toEqual([]);
    expect((await reconcileOnce({ pod: makePod({ gated: false, phase: "Succeeded" }) }, recordingWriter(() => false))).events).toEqual([]);
  });

  it("a failed write names its action and object, and stops the writes after it", async () => {
    const writer = recordingWriter();
    writer.createVmi = () => Promise.reject(new Error("admission webhook denied the request"));
    const outcome = reconcileOnce({ pod: makePod() }, writer);
    await expect(outcome).rejects.toBeInstanceOf(WriteFailedError);
    await expect(outcome).rejects.toThrow(`createVmi vmi ${VMS}/${DEFAULT_VM_NAME}: admission webhook denied the request`);
    expect(writer.calls.some((c) => c.startsWith("patchConditions"))).toBe(false);
  });
});

describe("a reconcile with the warm pool on", () => {
  const POOL_VM = "marooned-pool-aaaaaaaaaa";
  // The fixture pod's own VM is 1500m / 1536Mi, and it is charged that: a pool of exactly that size serves it.
  const config = defaultConfig({ warmPool: { ...defaultConfig().warmPool, size: 1, vmResources: { cpuMillis: 1_500, memoryBytes: 1_536 * 1024 * 1024 } } });
  const poolVmi = (claimedBy?: string): V1VirtualMachineInstance => {
    const vmi = poolVirtualMachineInstance(POOL_VM, config);
    const labels = { ...vmi.metadata?.labels, ...(claimedBy ? { [POOL_STATE_LABEL]: "claimed", [OWNED_LABELS.podUid]: claimedBy } : {}) };
    return { ...vmi, metadata: { ...vmi.metadata, labels }, status: { phase: "Running", interfaces: [{ name: "default", ipAddress: VM_IP, ipAddresses: [VM_IP] }] } };
  };
  const poolNode = (): V1Node => {
    const node = makeNode({ name: POOL_VM, podUidLabel: null, taints: [{ key: "maroonedpods.io/pool", value: "unclaimed", effect: "NoSchedule" }] });
    return { ...node, metadata: { ...node.metadata, labels: { ...node.metadata?.labels, [POOL_LABEL]: "true" } } };
  };

  it("claims an available pool VM: the VMI, then the records in one status patch beside the node's retaint, from the cached node", async () => {
    const { writes, events } = await reconcileOnce({ pod: makePod(), vmis: [poolVmi()], nodes: [poolNode()], config });
    expect(writes).toEqual([`claimVmi ${VMS}/${POOL_VM} ${POD_UID}`, `patchConditions ${POD} WarmPool=True,VMLaunched=True,VMAttempts=True`, `claimNode ${POOL_VM} ${POD_UID} (cached)`]);
    expect(events).toEqual(["Normal WarmVMClaimed"]);
  });

  it("writes nothing after a claim someone else won, and looks again soon", async () => {
    const { writes, events, result } = await reconcileOnce({ pod: makePod(), vmis: [poolVmi()], nodes: [poolNode()], config }, recordingWriter((call) => !call.startsWith("claimVmi")));
    expect(writes).toEqual([`claimVmi ${VMS}/${POOL_VM} ${POD_UID}`]);
    expect(events).toEqual([]);
    expect(result).toEqual({ requeueAfterMs: 100 });
  });

  it("launches its own VM when the pool is empty, the miss in launch's status patch", async () => {
    const { writes, events } = await reconcileOnce({ pod: makePod(), config });
    expect(writes.at(-1)).toBe(`patchConditions ${POD} VMLaunched=True,VMAttempts=True,NodeRegistered=False,WarmPool=False`);
    expect(events).toEqual(["Normal VMCreated", "Normal WarmPoolEmpty"]);
  });

  it("tears a claimed pool VM down with its pod: VMI, its pool Secret, its node", async () => {
    const node = poolNode();
    const claimedNode = { ...node, metadata: { ...node.metadata, labels: { ...node.metadata?.labels, [NODE_POD_UID_LABEL]: POD_UID } } };
    const { writes } = await reconcileOnce({
      pod: makePod({ gated: false, phase: "Succeeded" }),
      vmis: [poolVmi(POD_UID)],
      userDataSecrets: [{ ...poolUserDataSecret(POOL_VM, config, "#cloud-config\n"), data: {} }],
      nodes: [claimedNode],
      config,
    });
    expect(writes).toEqual([`deleteVmi ${VMS}/${POOL_VM}`, `deleteSecret ${VMS}/${POOL_VM}-cloud-init`, `deleteNode ${POOL_VM}`]);
  });
});
