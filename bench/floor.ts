import { randomBytes } from "node:crypto";
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { KUBE_SYSTEM_NAMESPACE, MAROONED_NODE_LABEL, MAROONED_NODE_LABEL_VALUE, TRUSTED_NODE_LABEL } from "../src/api/names.ts";
import { joinInfoFor, mintToken, renderCloudConfig, tokenSecret, userDataSecret, virtualMachineInstance, vmNameFor, type PodIdentity } from "../src/controller/artifacts.ts";
import type { ControllerConfig } from "../src/controller/config.ts";
import { sizeVm } from "../src/controller/sizing.ts";
import { VMI_GROUP, VMI_PLURAL, VMI_VERSION } from "../src/kubevirt/api.ts";
import { URGENT_ONLY_WORKERS } from "../src/controller/runtime.ts";
import { releasePatch } from "../src/controller/ungate.ts";
import { createLimiter } from "./limit.ts";
import type { NodeListener } from "./recorder.ts";

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);

export interface FloorController extends NodeListener {
  /** Launch a created (gated) pod's VM: token Secret, user-data Secret, VMI. */
  launch(pod: V1Pod): void;
  /** Writes that failed, as messages; the run shows them if pods never run. */
  readonly failures: readonly string[];
}

/**
 * The floor: the API writes a perfect controller must make and nothing else, with
 * the controller's client, identity, artifact builders and worker count, but no
 * caches, conditions, events or verification. Per pod: the token Secret, the
 * user-data Secret and the VMI; when the simulator registers the node, the
 * trusted and marooned-node labels (the release's and the RuntimeClass's nodeSelectors need them); once that node is Ready,
 * the one pod update.
 */
export function createFloorController(deps: { kubeConfig: KubeConfig; config: ControllerConfig; caCertHash: string; workers: number; logger: Logger }): FloorController {
  const { config } = deps;
  const core = deps.kubeConfig.makeApiClient(CoreV1Api);
  const customObjects = deps.kubeConfig.makeApiClient(CustomObjectsApi);
  const limit = createLimiter(deps.workers, URGENT_ONLY_WORKERS);
  const pods = new Map<string, V1Pod>();
  const trusted = new Set<string>();
  const ready = new Set<string>();
  const failures: string[] = [];
  /** Urgent: writes that finish a pod under way go before new launches, as the controller's node events do. */
  const run = (what: string, write: () => Promise<unknown>, urgent = false) => {
    void limit(write, urgent).catch((error: unknown) => {
      failures.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      deps.logger.warn({ err: error, what }, "floor write failed");
    });
  };
  const release = (uid: string) => {
    const pod = pods.get(uid);
    if (!pod || !trusted.has(uid) || !ready.has(uid)) return;
    const { namespace = "", name = "" } = pod.metadata ?? {};
    run(`release ${namespace}/${name}`, () => core.patchNamespacedPod({ namespace, name, body: releasePatch(pod, uid, config.taintKeyPrefix, vmNameFor(config, uid)) }, jsonPatch), true);
  };

  return {
    failures,
    launch(pod) {
      const identity: PodIdentity = { uid: pod.metadata?.uid ?? "", namespace: pod.metadata?.namespace ?? "", name: pod.metadata?.name ?? "" };
      pods.set(identity.uid, pod);
      const size = sizeVm(pod, config.sizing);
      if (!size.ok) throw new Error(`floor pod ${identity.name} does not fit a VM: ${size.reason}`);
      run(`launch ${identity.namespace}/${identity.name}`, async () => {
        const vmName = vmNameFor(config, identity.uid);
        const token = mintToken((n) => randomBytes(n));
        await core.createNamespacedSecret({ namespace: KUBE_SYSTEM_NAMESPACE, body: tokenSecret(identity, token, config, Date.now()) });
        const cloudConfig = renderCloudConfig(joinInfoFor(identity, vmName, token, config, deps.caCertHash));
        await core.createNamespacedSecret({ namespace: config.vmNamespace, body: userDataSecret(identity, vmName, config, cloudConfig) });
        await customObjects.createNamespacedCustomObject({
          group: VMI_GROUP, version: VMI_VERSION, plural: VMI_PLURAL, namespace: config.vmNamespace, body: virtualMachineInstance(identity, vmName, config, size),
        });
      });
    },
    onNodeRegistered(uid, nodeName) {
      run(`trust ${nodeName}`, async () => {
        await core.patchNode({ name: nodeName, body: { metadata: { labels: { [TRUSTED_NODE_LABEL]: uid, [MAROONED_NODE_LABEL]: MAROONED_NODE_LABEL_VALUE } } } }, mergePatch);
        trusted.add(uid);
        release(uid);
      }, true);
    },
    onNodeReady(uid) {
      ready.add(uid);
      release(uid);
    },
  };
}
