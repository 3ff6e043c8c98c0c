/** The pipeline under test: the webhook and the controller, each a process of its own from the image's bundle, as in production. */
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { join } from "node:path";
import { SCHEDULING_GATE } from "../src/api/names.ts";
import { registerAdmission, writeLoopbackServingCertificate } from "../src/devcluster/admission.ts";
import { startComponentProcess, type ComponentProcess } from "../src/devcluster/component-process.ts";
import { freeLoopbackPort } from "../src/devcluster/ports.ts";
import { CONTROLLER_NODE_OPTIONS } from "../src/install/workloads.ts";
import { pollUntil } from "../src/util/poll.ts";
import { bundleInCluster } from "../scripts/bundle.ts";
import { MUTATE_PODS_PATH } from "../webhook/handler.ts";
import { DEFAULT_ADMISSION_SETTINGS } from "../webhook/settings.ts";
import { apiServerWebhookBuckets, HTTP_TIMEOUT_MS } from "./api-server.ts";
import { getText } from "./http.ts";
import { bucketsSince, webhookLatency, type WebhookLatency } from "./stats.ts";
import { benchPod } from "./workload.ts";

const COMPONENT_READY_TIMEOUT_MS = 60_000;

export interface Pipeline {
  readonly webhook: ComponentProcess;
  readonly controller: ComponentProcess;
  readonly webhookOpsPort: number;
  stop(): Promise<void>;
}

/** The webhook, registered with its policies, and the controller as its ServiceAccount, leading. */
export async function startPipeline(admin: KubeConfig, controllerKubeconfigPath: string, dir: string, workers: number, probeNamespace: string): Promise<Pipeline> {
  // The program the image runs: its bundle, not the sources under type stripping (a third more memory).
  const cli = await bundleInCluster(join(dir, "bundle"));
  const tls = await writeLoopbackServingCertificate(dir);
  const port = await freeLoopbackPort();
  const webhook = await startComponentProcess(cli, [
    "webhook", `--tls-cert-file=${tls.certFile}`, `--tls-key-file=${tls.keyFile}`, "--bind-address=127.0.0.1", `--port=${port}`,
    "--ops-bind-address=127.0.0.1", "--ops-port=0", "--log-level=warn",
  ], COMPONENT_READY_TIMEOUT_MS);
  let controller: ComponentProcess | undefined;
  try {
    await registerAdmission(admin, DEFAULT_ADMISSION_SETTINGS, { url: `https://127.0.0.1:${port}${MUTATE_PODS_PATH}`, caPem: tls.caPem });
    await waitForGating(admin, probeNamespace);
    // With the heap bound the Deployment gives it.
    controller = await startComponentProcess(cli, [
      "controller", `--kubeconfig=${controllerKubeconfigPath}`, "--ops-bind-address=127.0.0.1", "--ops-port=0", "--log-level=warn", `--workers=${workers}`,
    ], COMPONENT_READY_TIMEOUT_MS, { ...process.env, NODE_OPTIONS: CONTROLLER_NODE_OPTIONS });
    const metricsUrl = `http://127.0.0.1:${String(controller.ready.opsPort)}/metrics`;
    // With leader election on, as deployed: measure only once it leads.
    await pollUntil("the controller to lead", async () => (/^maroonedpods_leader 1$/m.test(await getText(metricsUrl, HTTP_TIMEOUT_MS)) ? true : undefined), { timeoutMs: 60_000 });
    const started = controller;
    return {
      webhook,
      controller: started,
      webhookOpsPort: Number(webhook.ready.opsPort),
      stop: async () => {
        await started.stop();
        await webhook.stop();
      },
    };
  } catch (error) {
    await controller?.stop();
    await webhook.stop();
    throw error;
  }
}

/** The API server calls a new webhook only once it has loaded its configuration: wait until a dry-run pod comes back gated. */
async function waitForGating(admin: KubeConfig, namespace: string): Promise<void> {
  const core = admin.makeApiClient(CoreV1Api);
  await pollUntil("the API server to call the webhook", async () => {
    const pod = await core.createNamespacedPod({ namespace, body: benchPod("probe", { namespace, name: "webhook-probe" }), dryRun: "All" });
    return (pod.spec?.schedulingGates ?? []).some((g) => g.name === SCHEDULING_GATE) ? true : undefined;
  }, { timeoutMs: 60_000 });
}

/** Sequential dry-run creates for the webhook-at-rest figure: enough to make a p99, few enough to take seconds. */
export const AT_REST_CALLS = 200;
const AT_REST_WARM_UP_CALLS = 20;

/**
 * The webhook as the API server sees it with nothing else in flight: sequential dry-run creates. Set against a
 * run's figure, it separates the webhook's own cost from the API server's wait for CPU.
 */
export async function measureAdmissionAtRest(admin: KubeConfig, namespace: string): Promise<WebhookLatency> {
  const core = admin.makeApiClient(CoreV1Api);
  const create = (name: string) => core.createNamespacedPod({ namespace, body: benchPod("at-rest", { namespace, name }), dryRun: "All" });
  // The first calls pay for new connections and cold code on both sides.
  for (let i = 0; i < AT_REST_WARM_UP_CALLS; i++) await create(`warm-up-${i}`);
  const before = await apiServerWebhookBuckets(admin);
  for (let i = 0; i < AT_REST_CALLS; i++) await create(`call-${i}`);
  return webhookLatency(bucketsSince(before, await apiServerWebhookBuckets(admin)));
}
