import type { V1Node } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { dedicatedTaintKey, NODE_POD_UID_LABEL, TRUSTED_NODE_LABEL } from "../api/names.ts";
import type { Observed } from "./observed.ts";

/** Whether the controller labeled the pod's node with the trusted label for this pod (no kubelet can set it). */
export const isTrusted = (o: Observed): boolean => o.node?.metadata?.labels?.[TRUSTED_NODE_LABEL] === (o.pod.metadata?.uid ?? "");

export function vmiAddresses(vmi: V1VirtualMachineInstance): Set<string> {
  return new Set((vmi.status?.interfaces ?? []).flatMap((i) => [i.ipAddress, ...(i.ipAddresses ?? [])]).filter((ip): ip is string => Boolean(ip)));
}

/** Why this node cannot be the pod's node; empty when it can. A node may lie about anything it registered itself. */
export function verifyNode(node: V1Node, vmi: V1VirtualMachineInstance, vmName: string, podUid: string, taintKeyPrefix: string): string[] {
  const problems: string[] = [];
  if (node.metadata?.name !== vmName) problems.push(`name ${node.metadata?.name ?? ""} is not ${vmName}`);
  if (node.metadata?.labels?.[NODE_POD_UID_LABEL] !== podUid) problems.push(`label ${NODE_POD_UID_LABEL} is not ${podUid}`);
  const taintKey = dedicatedTaintKey(taintKeyPrefix);
  if (!(node.spec?.taints ?? []).some((t) => t.key === taintKey && t.value === podUid && t.effect === "NoSchedule")) {
    problems.push(`taint ${taintKey}=${podUid}:NoSchedule is missing`);
  }
  const internalIps = (node.status?.addresses ?? []).filter((a) => a.type === "InternalIP").map((a) => a.address);
  const vmIps = vmiAddresses(vmi);
  if (internalIps.length === 0) problems.push("it reports no InternalIP");
  else if (!internalIps.every((ip) => vmIps.has(ip))) problems.push(`InternalIP ${internalIps.join(",")} is not among the VM's addresses (${[...vmIps].join(",") || "none yet"})`);
  return problems;
}

/** The observed node passes verification for the observed pod and VM. */
export const nodeVerifies = (o: Observed): boolean =>
  o.node !== undefined && o.vmi !== undefined && verifyNode(o.node, o.vmi, o.vmName, o.pod.metadata?.uid ?? "", o.config.taintKeyPrefix).length === 0;
