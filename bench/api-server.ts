/** What the benchmark reads from the API server's own /metrics: the webhook's latency as it sees it, and its request counts. */
import type { RequestOptions } from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
import { getText } from "./http.ts";
import { counterTotals, histogramBuckets, type Buckets } from "./stats.ts";

export const HTTP_TIMEOUT_MS = 30_000;
/** The API server's admission-webhook histogram (buckets 5 ms, 25 ms, 100 ms, 500 ms, …). */
const APISERVER_WEBHOOK_METRIC = "apiserver_admission_webhook_admission_duration_seconds";
/** Ours is the cluster's only mutating webhook (the simulator's virt-api one validates): type "admit". */
const isOurWebhook = (labels: Record<string, string>): boolean => labels.type === "admit";

/** A GET on the API server with the kubeconfig's credentials. */
async function fetchFromApiServer(kubeConfig: KubeConfig, path: string): Promise<string> {
  const url = `${kubeConfig.getCurrentCluster()?.server ?? ""}${path}`;
  const options: RequestOptions = { method: "GET" };
  await kubeConfig.applyToHTTPSOptions(options);
  return getText(url, HTTP_TIMEOUT_MS, options);
}

/** Our webhook's calls as the API server has timed them so far (cumulative per bucket). */
export async function apiServerWebhookBuckets(admin: KubeConfig): Promise<Buckets> {
  return histogramBuckets(await fetchFromApiServer(admin, "/metrics"), APISERVER_WEBHOOK_METRIC, isOurWebhook);
}

/** Requests served so far per kind (`VERB resource[/subresource]`). */
export async function apiServerRequests(admin: KubeConfig): Promise<Map<string, number>> {
  const text = await fetchFromApiServer(admin, "/metrics");
  return counterTotals(text, "apiserver_request_total", (l) => `${l.verb ?? ""} ${l.resource ?? ""}${l.subresource ? `/${l.subresource}` : ""}`);
}
