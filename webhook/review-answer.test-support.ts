/**
 * What the pod webhook may answer to any request, judged from the design notes rather than from its code: a 4xx
 * (never for a well-formed pod review), or a 200 carrying an AdmissionReview response for that request's uid that
 * allows or denies it as the rules say, its JSON Patch applying to the pod and isolating it.
 */
import fastJsonPatch, { type Operation } from "fast-json-patch";
import { ADMISSION_API_VERSION } from "../src/admission/review.ts";
import { CLEANUP_FINALIZER, MANAGED_LABEL, MANAGED_LABEL_VALUE, SCHEDULING_GATE } from "../src/api/names.ts";
import { isRecord } from "../src/util/guards.ts";
import type { AdmissionSettings } from "./settings.ts";

export interface ReviewExchange {
  /** The request body as sent. */
  readonly body: Buffer;
  /** A well-formed pod review: a 4xx is wrong. */
  readonly mustReview: boolean;
  readonly status: number;
  readonly answer: string;
}

type Loose = Record<string, unknown>;
const asRecord = (value: unknown): Loose | undefined => (isRecord(value) ? value : undefined);

function isSelected(pod: Loose, settings: AdmissionSettings): boolean {
  const labels = asRecord(asRecord(pod.metadata)?.labels);
  return labels?.[settings.triggerLabel.key] === settings.triggerLabel.value || asRecord(pod.spec)?.runtimeClassName === settings.runtimeClassName;
}

/** Why `pod` is not gated, finalized, labeled managed and given the class, or undefined when it is all four. */
function notIsolated(pod: Loose, settings: AdmissionSettings): string | undefined {
  const metadata = asRecord(pod.metadata);
  const spec = asRecord(pod.spec);
  const gates = spec?.schedulingGates;
  if (!Array.isArray(gates) || !gates.some((gate) => asRecord(gate)?.name === SCHEDULING_GATE)) return "no scheduling gate";
  const finalizers = metadata?.finalizers;
  if (!Array.isArray(finalizers) || !finalizers.includes(CLEANUP_FINALIZER)) return "no cleanup finalizer";
  if (asRecord(metadata?.labels)?.[MANAGED_LABEL] !== MANAGED_LABEL_VALUE) return "no managed label";
  if (spec?.runtimeClassName !== settings.runtimeClassName) return `runtimeClassName ${JSON.stringify(spec?.runtimeClassName)}`;
  return undefined;
}

function decodePatch(response: Loose): Operation[] | string {
  if (response.patchType !== "JSONPatch" || typeof response.patch !== "string") return "patch without patchType JSONPatch";
  try {
    const operations: unknown = JSON.parse(Buffer.from(response.patch, "base64").toString("utf8"));
    return Array.isArray(operations) ? (operations as Operation[]) : "patch is not a JSON array";
  } catch {
    return "patch is not base64 JSON";
  }
}

/** Why a 200 answer to `request` is wrong, or undefined. */
function reviewProblem(request: Loose, answer: Loose, settings: AdmissionSettings): string | undefined {
  if (answer.apiVersion !== ADMISSION_API_VERSION || answer.kind !== "AdmissionReview") return "answer is not an admission.k8s.io/v1 AdmissionReview";
  const response = asRecord(answer.response);
  if (response === undefined) return "answer has no response";
  if (typeof request.uid !== "string" || response.uid !== request.uid) return `answer's uid ${JSON.stringify(response.uid)} is not the request's ${JSON.stringify(request.uid)}`;
  if (typeof response.allowed !== "boolean") return "response.allowed is not a boolean";
  const pod = asRecord(request.object);
  const selectedCreate = request.operation === "CREATE" && pod !== undefined && isSelected(pod, settings);
  if (!selectedCreate) return response.allowed && response.patch === undefined ? undefined : "a request that is not a selected pod's CREATE was not simply allowed";
  const runtimeClass = asRecord(pod.spec)?.runtimeClassName;
  if (typeof runtimeClass === "string" && runtimeClass !== settings.runtimeClassName) {
    const message = asRecord(response.status)?.message;
    return !response.allowed && typeof message === "string" && message !== "" ? undefined : `a selected pod with RuntimeClass ${runtimeClass} was not denied with a message`;
  }
  if (!response.allowed) return "a selected pod was denied";
  if (response.patch === undefined) {
    const missing = notIsolated(pod, settings);
    return missing === undefined ? undefined : `a selected pod was allowed unpatched with ${missing}`;
  }
  const operations = decodePatch(response);
  if (typeof operations === "string") return operations;
  let patched: Loose;
  try {
    patched = fastJsonPatch.applyPatch(pod, operations, true, false).newDocument; // validates each operation, on a copy
  } catch (error) {
    return `the patch does not apply to the pod: ${error instanceof Error ? error.message.split("\n")[0] ?? "" : String(error)}`;
  }
  const missing = notIsolated(patched, settings);
  return missing === undefined ? undefined : `the patched pod has ${missing}`;
}

/** Why the webhook's answer to this exchange is wrong, or undefined when it is one it may give. */
export function answerProblem(exchange: ReviewExchange, settings: AdmissionSettings): string | undefined {
  const { status } = exchange;
  if (status >= 400 && status < 500) return exchange.mustReview ? `HTTP ${status} for a well-formed pod review: ${exchange.answer.slice(0, 200)}` : undefined;
  if (status !== 200) return `HTTP ${status}: ${exchange.answer.slice(0, 200)}`;
  let body: Loose | undefined;
  let answer: Loose | undefined;
  try {
    body = asRecord(JSON.parse(exchange.body.toString("utf8")));
  } catch {
    return "HTTP 200 for a body that is not JSON";
  }
  try {
    answer = asRecord(JSON.parse(exchange.answer));
  } catch {
    return "HTTP 200 whose answer is not JSON";
  }
  const request = asRecord(body?.request);
  if (request === undefined || answer === undefined) return "HTTP 200 without a request or an answer object";
  return reviewProblem(request, answer, settings);
}
