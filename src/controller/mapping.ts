import { OWNED_LABELS, POD_NAME_ANNOTATION } from "../api/conditions.ts";
import { NODE_POD_UID_LABEL } from "../api/names.ts";
import { vmNameFor } from "./artifacts.ts";
import type { ControllerConfig } from "./config.ts";

interface Meta {
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string>; readonly uid?: string };
}

export const podKeyOf = (pod: Meta): string | undefined =>
  pod.metadata?.namespace && pod.metadata.name ? `${pod.metadata.namespace}/${pod.metadata.name}` : undefined;

/** A VMI or Secret the controller created carries its pod's namespace (label) and name (annotation). */
export function podKeyOfOwned(object: Meta): string | undefined {
  const namespace = object.metadata?.labels?.[OWNED_LABELS.podNamespace];
  const name = object.metadata?.annotations?.[POD_NAME_ANNOTATION];
  return namespace && name ? `${namespace}/${name}` : undefined;
}

/** The pod UID an owned object belongs to (VMI, Secret, token). */
export const podUidOfOwned = (object: Meta): string | undefined => object.metadata?.labels?.[OWNED_LABELS.podUid];

/** A node names its pod only by UID, in the label its kubelet registered; the pod cache resolves it to a key. */
export const podUidOfNode = (node: Meta): string | undefined => node.metadata?.labels?.[NODE_POD_UID_LABEL];

/** A node named as the controller names the VM of the pod its label claims: any other node is never the controller's. */
export function isControllerNode(node: Meta, config: Pick<ControllerConfig, "nodeNamePrefix">): boolean {
  const uid = podUidOfNode(node);
  return uid !== undefined && node.metadata?.name === vmNameFor(config, uid);
}

export interface OrphanCandidate {
  readonly kind: "VirtualMachineInstance" | "Secret" | "BootstrapToken" | "Node";
  readonly namespace: string | undefined;
  readonly name: string;
  readonly podUid: string | undefined;
}

/** Objects whose pod no longer exists. Anything without a pod UID is not ours to judge. */
export function findOrphans(candidates: readonly OrphanCandidate[], livePodUids: ReadonlySet<string>): OrphanCandidate[] {
  return candidates.filter((c) => c.podUid !== undefined && !livePodUids.has(c.podUid));
}
