import fastJsonPatch from "fast-json-patch";
import type { AdmissionRequest, JsonPatchOperation } from "../src/admission/review.ts";
import { CLEANUP_FINALIZER, MANAGED_LABEL, MANAGED_LABEL_VALUE, SCHEDULING_GATE } from "../src/api/names.ts";
import type { AdmissionSettings } from "./settings.ts";

/** The pod fields the decision reads, as they arrive in the review (plain JSON, not client-node classes). */
export interface PodObject {
  metadata?: { labels?: Record<string, string>; finalizers?: string[]; [key: string]: unknown };
  spec?: { runtimeClassName?: string; schedulingGates?: { name: string }[]; containers?: unknown[]; [key: string]: unknown };
  [key: string]: unknown;
}

export type MutationDecision =
  | { readonly kind: "allow"; readonly reason: "not-selected" | "not-create" | "already-gated" }
  | { readonly kind: "patch"; readonly operations: readonly JsonPatchOperation[] }
  /** A well-formed pod that cannot be marooned as it is; the message says why. */
  | { readonly kind: "deny"; readonly message: string }
  | { readonly kind: "invalid"; readonly message: string };

export function isSelected(pod: PodObject, settings: AdmissionSettings): boolean {
  return pod.metadata?.labels?.[settings.triggerLabel.key] === settings.triggerLabel.value || pod.spec?.runtimeClassName === settings.runtimeClassName;
}

/** Why `object` cannot be treated as a Pod, or undefined. */
function podProblem(object: unknown): string | undefined {
  if (typeof object !== "object" || object === null || Array.isArray(object)) return "request.object must be a Pod object";
  const { metadata, spec } = object as Record<string, unknown>;
  if (metadata !== undefined && (typeof metadata !== "object" || metadata === null || Array.isArray(metadata))) return "request.object.metadata must be an object";
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) return "request.object.spec must be an object";
  const { labels, finalizers } = (metadata ?? {}) as Record<string, unknown>;
  if (labels !== undefined && (typeof labels !== "object" || labels === null || Array.isArray(labels))) return "request.object.metadata.labels must be a map";
  if (finalizers !== undefined && !Array.isArray(finalizers)) return "request.object.metadata.finalizers must be a list";
  const { schedulingGates, containers, runtimeClassName } = spec as Record<string, unknown>;
  if (schedulingGates !== undefined && !Array.isArray(schedulingGates)) return "request.object.spec.schedulingGates must be a list";
  if (Array.isArray(schedulingGates) && schedulingGates.some((gate: unknown) => typeof gate !== "object" || gate === null || Array.isArray(gate))) {
    return "request.object.spec.schedulingGates must be a list of objects";
  }
  if (!Array.isArray(containers)) return "request.object.spec.containers must be a list";
  if (runtimeClassName !== undefined && runtimeClassName !== null && typeof runtimeClassName !== "string") return "request.object.spec.runtimeClassName must be a string";
  return undefined;
}

/**
 * The pod as the webhook wants it: gated, with the cleanup finalizer, the managed label and the RuntimeClass.
 * Nothing else changes. The class is what gets the VM charged to the namespace's quota: the API server reruns its
 * built-in admission after a webhook changed the pod, and the RuntimeClass plugin then fills in `spec.overhead`.
 */
export function withIsolationDefaults(pod: PodObject, runtimeClassName: string): PodObject {
  const copy = structuredClone(pod);
  const metadata = (copy.metadata ??= {});
  const spec = (copy.spec ??= {});
  spec.runtimeClassName ??= runtimeClassName;
  metadata.labels = { ...metadata.labels, [MANAGED_LABEL]: MANAGED_LABEL_VALUE };
  const finalizers = metadata.finalizers ?? [];
  if (!finalizers.includes(CLEANUP_FINALIZER)) metadata.finalizers = [...finalizers, CLEANUP_FINALIZER];
  const gates = spec.schedulingGates ?? [];
  if (!gates.some((g) => g.name === SCHEDULING_GATE)) spec.schedulingGates = [...gates, { name: SCHEDULING_GATE }];
  return copy;
}

/**
 * The webhook's whole decision, on plain data. It never reads the pod's name
 * or UID: for generateName pods neither exists yet at mutating admission.
 */
export function decideMutation(request: AdmissionRequest, settings: AdmissionSettings): MutationDecision {
  const { group, kind } = request.kind;
  if (group !== "" || kind !== "Pod") return { kind: "invalid", message: `expected a core/v1 Pod, got ${group || "core"}/${request.kind.version} ${kind}` };
  if (request.operation !== "CREATE") return { kind: "allow", reason: "not-create" };
  const problem = podProblem(request.object);
  if (problem) return { kind: "invalid", message: problem };
  const pod = request.object as PodObject;
  if (!isSelected(pod, settings)) return { kind: "allow", reason: "not-selected" };
  const runtimeClass = pod.spec?.runtimeClassName;
  if (typeof runtimeClass === "string" && runtimeClass !== settings.runtimeClassName) {
    return {
      kind: "deny",
      message: `a pod labeled ${settings.triggerLabel.key}=${settings.triggerLabel.value} runs with RuntimeClass ${settings.runtimeClassName}, whose overhead charges its VM to the namespace's quota; it names ${runtimeClass}`,
    };
  }
  const operations = fastJsonPatch.compare(pod, withIsolationDefaults(pod, settings.runtimeClassName)) as JsonPatchOperation[];
  return operations.length === 0 ? { kind: "allow", reason: "already-gated" } : { kind: "patch", operations };
}

