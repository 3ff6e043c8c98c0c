import { fileURLToPath } from "node:url";
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import type { Logger } from "pino";
import { allowed, denied } from "../admission/review.ts";
import { startAdmissionServer } from "../admission/server.ts";
import { applyObjects } from "../kube/apply.ts";
import { isNotFound } from "../kube/errors.ts";
import { createListWatchCache } from "../kube/list-watch-cache.ts";
import { installCrds, readManifests } from "../kube/manifests.ts";
import { createCertificateAuthority, issueCertificate } from "../pki/certificates.ts";
import { pollUntil } from "../util/poll.ts";
import { VMI_GROUP, VMI_PLURAL, VMI_VERSION } from "./api.ts";
import { validateVmiCreate } from "./virt-api-rules.ts";

/**
 * What the KubeVirt stand-in's runtimes share, the simulated one (src/simulator) and the QEMU one (src/qemu):
 * KubeVirt's real VMI CRD, virt-api's create validation, and the VMI reads and writes virt-controller and
 * virt-handler make. Only one runtime runs against a cluster: both register the same webhook.
 */

export const VMI_CRD_FILE = fileURLToPath(new URL("../../test/fixtures/kubevirt/virtualmachineinstances.kubevirt.io-v1.9.0.yaml", import.meta.url));
/** Kept from when the simulator was the only runtime, so clusters set up before find their registration replaced, not doubled. */
export const STANDIN_WEBHOOK_NAME = "kubevirt-simulator-validator";
const WEBHOOK_PATH = "/virtualmachineinstances-validate-create";

export interface KubevirtStandin {
  close(): Promise<void>;
}

/** Installs the VMI CRD and serves virt-api's validating webhook (on loopback), registered with the API server. */
export async function startKubevirtStandin(deps: { kubeConfig: KubeConfig; logger: Logger; fieldManager: string }): Promise<KubevirtStandin> {
  const { kubeConfig, logger, fieldManager } = deps;
  await installCrds(kubeConfig, await readManifests(VMI_CRD_FILE), fieldManager);
  const ca = await createCertificateAuthority("kubevirt-simulator-webhook-ca", 30);
  const serving = await issueCertificate(ca, { commonName: "127.0.0.1", ipAddresses: ["127.0.0.1"], usage: "server", validForDays: 30 });
  const server = await startAdmissionServer({
    host: "127.0.0.1",
    port: 0,
    tls: { certPem: serving.certPem, keyPem: serving.keyPem },
    logger,
    handlers: {
      [WEBHOOK_PATH]: (request) => {
        const errors = validateVmiCreate(request.object as V1VirtualMachineInstance);
        return errors.length === 0 ? allowed(request.uid) : denied(request.uid, errors.join(" "), 422);
      },
    },
  });
  try {
    await applyObjects(
      kubeConfig,
      [
        {
          apiVersion: "admissionregistration.k8s.io/v1",
          kind: "ValidatingWebhookConfiguration",
          metadata: { name: STANDIN_WEBHOOK_NAME },
          webhooks: [
            {
              name: "virtualmachineinstances-create-validator.kubevirt.io",
              clientConfig: { url: server.url(WEBHOOK_PATH), caBundle: Buffer.from(ca.certPem).toString("base64") },
              rules: [{ apiGroups: [VMI_GROUP], apiVersions: [VMI_VERSION], operations: ["CREATE"], resources: [VMI_PLURAL] }],
              failurePolicy: "Fail",
              sideEffects: "None",
              admissionReviewVersions: ["v1"],
              timeoutSeconds: 10,
            },
          ],
        },
      ],
      fieldManager,
    );
    // The registration is live once a VMI breaking a virt-api rule is refused.
    await pollUntil("the KubeVirt stand-in's virt-api webhook to be called", () => probeWebhook(kubeConfig), { timeoutMs: 30_000 });
  } catch (error) {
    await server.close();
    throw error;
  }
  return { close: () => server.close() };
}

async function probeWebhook(kubeConfig: KubeConfig): Promise<true | undefined> {
  const customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
  try {
    await customObjects.createNamespacedCustomObject({
      group: VMI_GROUP,
      version: VMI_VERSION,
      plural: VMI_PLURAL,
      namespace: "default",
      dryRun: "All",
      body: {
        apiVersion: `${VMI_GROUP}/${VMI_VERSION}`,
        kind: "VirtualMachineInstance",
        metadata: { name: "webhook-probe" },
        spec: { domain: { devices: { disks: [{ name: "missing-volume" }] } } },
      },
    });
    return undefined;
  } catch (error) {
    return (error as { code?: number }).code === 422 ? true : undefined;
  }
}

export interface VmiStore {
  /** The VMI, or undefined when it is gone. */
  readonly read: (namespace: string, name: string) => Promise<V1VirtualMachineInstance | undefined>;
  /** The patched VMI, or undefined when it is gone. KubeVirt's VMI CRD has no status subresource: a merge patch of the object. */
  readonly patchStatus: (namespace: string, name: string, status: Record<string, unknown>) => Promise<V1VirtualMachineInstance | undefined>;
  /** Merges annotations (null removes one); undefined when the VMI is gone. */
  readonly patchAnnotations: (namespace: string, name: string, annotations: Record<string, string | null>) => Promise<V1VirtualMachineInstance | undefined>;
}

export function createVmiStore(kubeConfig: KubeConfig): VmiStore {
  const customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
  const orUndefinedIfGone = async (call: () => Promise<unknown>): Promise<V1VirtualMachineInstance | undefined> => {
    try {
      return (await call()) as V1VirtualMachineInstance;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  };
  const mergePatch = (namespace: string, name: string, body: object) =>
    orUndefinedIfGone(() =>
      customObjects.patchNamespacedCustomObject(
        { group: VMI_GROUP, version: VMI_VERSION, plural: VMI_PLURAL, namespace, name, body },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      ),
    );
  return {
    read: (namespace, name) => orUndefinedIfGone(() => customObjects.getNamespacedCustomObject({ group: VMI_GROUP, version: VMI_VERSION, plural: VMI_PLURAL, namespace, name })),
    patchStatus: (namespace, name, status) => mergePatch(namespace, name, { status }),
    patchAnnotations: (namespace, name, annotations) => mergePatch(namespace, name, { metadata: { annotations } }),
  };
}

export type VmiChange = "ADDED" | "MODIFIED" | "DELETED";

/** Every VMI's changes, in every namespace, as virt-controller watches them; resolves once the first list is in. */
export async function watchVmis(deps: { kubeConfig: KubeConfig; logger: Logger; signal: AbortSignal }, onVmi: (change: VmiChange, vmi: V1VirtualMachineInstance) => void): Promise<void> {
  const vmis = createListWatchCache<V1VirtualMachineInstance>({ ...deps, path: `/apis/${VMI_GROUP}/${VMI_VERSION}/${VMI_PLURAL}`, resyncPeriodMs: 0 });
  await vmis.start({
    onAdd: (vmi) => { onVmi("ADDED", vmi); },
    onUpdate: (vmi) => { onVmi("MODIFIED", vmi); },
    onDelete: (vmi) => { onVmi("DELETED", vmi); },
  });
}
