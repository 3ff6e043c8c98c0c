import { AdmissionregistrationV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { OWNED_LABELS, POD_ANNOTATIONS, POD_CONDITIONS, REASONS } from "../../src/api/conditions.ts";
import { attemptsOf } from "../../src/controller/observed.ts";
import { CONTROLLER_LEASE_NAME, DEFAULT_SYSTEM_NAMESPACE, DEFAULT_VM_NAMESPACE, MAROON_LABEL, SCHEDULING_GATE, TRUSTED_NODE_LABEL, WEBHOOK_CA_SECRET, WEBHOOK_TLS_SECRET } from "../../src/api/names.ts";
import { userDataSecretNameFor } from "../../src/controller/artifacts.ts";
import { CONFIG_GROUP, CONFIG_NAME, CONFIG_PLURAL, CONFIG_VERSION } from "../../src/controller/config.ts";
import { isNotFound } from "../../src/kube/errors.ts";
import { VMI_GROUP, VMI_PLURAL, VMI_VERSION } from "../../src/kubevirt/api.ts";
import { pollUntil } from "../../src/util/poll.ts";
import { MUTATING_WEBHOOK_CONFIGURATION_NAME } from "../../webhook/manifests.ts";

/** Each run of the flow gets its own namespace, so the simulator's planned fault (one per label) fires once per run. */
export const PROOF_NAMESPACE_LABEL = "maroonedpods.io/rbac-proof";
const POD_NAME = "isolated";
const POOL_POD_NAME = "from-the-pool";
const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

/** What the steps learn as they go. */
interface FlowState {
  podUid?: string;
  renewTime?: string;
}

export interface FlowStep {
  readonly name: string;
  /** Resolves when the step happened; polls until `timeoutMs`. */
  run(timeoutMs: number): Promise<void>;
}

const exists = async (read: () => Promise<unknown>): Promise<boolean> => {
  try {
    await read();
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
};

/**
 * The end-to-end flow as named steps, each observed as admin: what a user and
 * an operator see when the controller and webhook do their jobs. The controller
 * start is the caller's step; these follow it.
 */
export function proofSteps(admin: KubeConfig, identity: string, namespace: string): FlowStep[] {
  const core = admin.makeApiClient(CoreV1Api);
  const custom = admin.makeApiClient(CustomObjectsApi);
  const leases = admin.makeApiClient(CoordinationV1Api);
  const registration = admin.makeApiClient(AdmissionregistrationV1Api);
  const state: FlowState = {};
  const vmName = () => `marooned-${state.podUid ?? ""}`;
  const config = () => custom.getClusterCustomObject({ group: CONFIG_GROUP, version: CONFIG_VERSION, plural: CONFIG_PLURAL, name: CONFIG_NAME }) as Promise<{ metadata: { generation: number }; status?: { observedGeneration?: number; conditions?: { type: string; status: string }[] } }>;
  const configAccepted = async () => {
    const current = await config();
    return current.status?.observedGeneration === current.metadata.generation && current.status.conditions?.some((c) => c.type === "Valid" && c.status === "True") ? true : undefined;
  };
  const secretText = async (name: string, key: string) => Buffer.from((await core.readNamespacedSecret({ namespace: DEFAULT_SYSTEM_NAMESPACE, name })).data?.[key] ?? "", "base64").toString("utf8");
  const caBundleTrustsCa = async () => {
    const ca = await secretText(WEBHOOK_CA_SECRET, "tls.crt");
    const bundle = (await registration.readMutatingWebhookConfiguration({ name: MUTATING_WEBHOOK_CONFIGURATION_NAME })).webhooks?.[0]?.clientConfig.caBundle ?? "";
    return ca.includes("BEGIN CERTIFICATE") && Buffer.from(bundle, "base64").toString("utf8").includes(ca.trim()) ? true : undefined;
  };
  const pod = () => core.readNamespacedPod({ namespace, name: POD_NAME });
  const step = (name: string, attempt: () => Promise<true | undefined>, intervalMs = 250): FlowStep => ({
    name,
    run: async (timeoutMs) => {
      await pollUntil(name, attempt, { timeoutMs, intervalMs });
    },
  });

  return [
    step("leader lease held and renewed", async () => {
      const spec = (await leases.readNamespacedLease({ namespace: DEFAULT_SYSTEM_NAMESPACE, name: CONTROLLER_LEASE_NAME })).spec;
      if (spec?.holderIdentity !== identity) return undefined;
      const renewTime = JSON.stringify(spec.renewTime);
      if (state.renewTime === undefined) state.renewTime = renewTime;
      return renewTime !== state.renewTime ? true : undefined;
    }),
    step("config accepted", configAccepted),
    step("webhook certificate issued", async () => ((await exists(() => core.readNamespacedSecret({ namespace: DEFAULT_SYSTEM_NAMESPACE, name: WEBHOOK_TLS_SECRET }))) ? caBundleTrustsCa() : undefined)),
    step("pod gated by the webhook", async () => {
      const body: V1Pod = { metadata: { name: POD_NAME, labels: { [MAROON_LABEL]: "true" } }, spec: { containers: [{ name: "main", image: "registry.example/app:1" }] } };
      const created = (await exists(pod)) ? await pod() : await core.createNamespacedPod({ namespace, body });
      state.podUid = created.metadata?.uid;
      return created.spec?.schedulingGates?.some((g) => g.name === SCHEDULING_GATE) ? true : undefined;
    }, 500),
    // The VMI, or the launch recorded right after its create: a VMI that fails at once may be gone between polls.
    step("VMI created", async () => {
      if (await exists(() => custom.getNamespacedCustomObject({ group: VMI_GROUP, version: VMI_VERSION, plural: VMI_PLURAL, namespace: DEFAULT_VM_NAMESPACE, name: vmName() }))) return true;
      return (await pod()).status?.conditions?.some((c) => c.type === POD_CONDITIONS.VMLaunched && c.status === "True") ? true : undefined;
    }),
    step("failed first VM replaced", async () => {
      const current = await pod();
      const vmi = await custom.getNamespacedCustomObject({ group: VMI_GROUP, version: VMI_VERSION, plural: VMI_PLURAL, namespace: DEFAULT_VM_NAMESPACE, name: vmName() }).catch(() => undefined) as { status?: { phase?: string } } | undefined;
      return attemptsOf(current) === 2 && vmi !== undefined && vmi.status?.phase !== "Failed" ? true : undefined;
    }),
    step("event recorded", async () => {
      const events = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.uid=${state.podUid ?? ""}` });
      return events.items.some((e) => e.reason === REASONS.VMCreated) ? true : undefined;
    }),
    step("node trusted", async () => ((await core.readNode({ name: vmName() })).metadata?.labels?.[TRUSTED_NODE_LABEL] === state.podUid ? true : undefined)),
    step("bootstrap token deleted", async () => ((await core.listNamespacedSecret({ namespace: "kube-system", labelSelector: `${OWNED_LABELS.podUid}=${state.podUid ?? ""}` })).items.length === 0 ? true : undefined)),
    step("pod released", async () => ((await pod()).spec?.schedulingGates?.length ? undefined : true)),
    step("pod running on its node", async () => {
      const current = await pod();
      return current.status?.phase === "Running" && current.spec?.nodeName === vmName() && current.metadata?.annotations?.[POD_ANNOTATIONS.node] === vmName() ? true : undefined;
    }),
    {
      name: "config change seen",
      run: async (timeoutMs) => {
        await custom.patchClusterCustomObject({ group: CONFIG_GROUP, version: CONFIG_VERSION, plural: CONFIG_PLURAL, name: CONFIG_NAME, body: { spec: { maxAttempts: 5 } } }, mergePatch);
        await pollUntil("config change seen", configAccepted, { timeoutMs });
      },
    },
    {
      name: "deleted certificate recreated",
      run: async (timeoutMs) => {
        await core.deleteNamespacedSecret({ namespace: DEFAULT_SYSTEM_NAMESPACE, name: WEBHOOK_TLS_SECRET });
        await pollUntil("deleted certificate recreated", async () => ((await exists(() => core.readNamespacedSecret({ namespace: DEFAULT_SYSTEM_NAMESPACE, name: WEBHOOK_TLS_SECRET }))) ? true : undefined), { timeoutMs });
      },
    },
    {
      name: "broken CA replaced and trusted",
      run: async (timeoutMs) => {
        await core.patchNamespacedSecret({ namespace: DEFAULT_SYSTEM_NAMESPACE, name: WEBHOOK_CA_SECRET, body: { data: { "tls.crt": Buffer.from("garbage").toString("base64") } } }, mergePatch);
        await pollUntil("broken CA replaced and trusted", caBundleTrustsCa, { timeoutMs });
      },
    },
    {
      // The warm pool: a pool VM boots, a fitting pod (no requests) claims it, and both go again.
      name: "warm pool VM claimed",
      run: async (timeoutMs) => {
        const setPool = (size: number) =>
          custom.patchClusterCustomObject({ group: CONFIG_GROUP, version: CONFIG_VERSION, plural: CONFIG_PLURAL, name: CONFIG_NAME, body: { spec: { warmPool: { size } } } }, mergePatch);
        const poolPod = () => core.readNamespacedPod({ namespace, name: POOL_POD_NAME });
        await setPool(1);
        try {
          await pollUntil("a warm pool VM available", async () => {
            const status = (await config()) as { status?: { warmPool?: { available?: number } } };
            return (status.status?.warmPool?.available ?? 0) > 0 ? true : undefined;
          }, { timeoutMs });
          const body: V1Pod = { metadata: { name: POOL_POD_NAME, labels: { [MAROON_LABEL]: "true" } }, spec: { containers: [{ name: "main", image: "registry.example/app:1" }] } };
          if (!(await exists(poolPod))) await core.createNamespacedPod({ namespace, body });
          await pollUntil("warm pool VM claimed", async () => {
            const current = await poolPod();
            return current.status?.phase === "Running" && (current.spec?.nodeName ?? "").startsWith("marooned-pool-") ? true : undefined;
          }, { timeoutMs });
        } finally {
          await setPool(0);
          await core.deleteNamespacedPod({ namespace, name: POOL_POD_NAME }).catch(() => undefined);
        }
        await pollUntil("the claimed pod torn down", async () => ((await exists(poolPod)) ? undefined : true), { timeoutMs });
      },
    },
    {
      name: "torn down",
      run: async (timeoutMs) => {
        await core.deleteNamespacedPod({ namespace, name: POD_NAME });
        await pollUntil("torn down", async () => {
          const left = await Promise.all([
            exists(pod),
            exists(() => custom.getNamespacedCustomObject({ group: VMI_GROUP, version: VMI_VERSION, plural: VMI_PLURAL, namespace: DEFAULT_VM_NAMESPACE, name: vmName() })),
            exists(() => core.readNode({ name: vmName() })),
            exists(() => core.readNamespacedSecret({ namespace: DEFAULT_VM_NAMESPACE, name: userDataSecretNameFor(vmName()) })),
          ]);
          return left.some(Boolean) ? undefined : true;
        }, { timeoutMs });
      },
    },
  ];
}
