import type { V1Secret } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import type { Logger } from "pino";
import type { ClusterWriter } from "./cluster-writer.ts";
import type { ControllerConfig } from "./config.ts";
import { findOrphans, isControllerNode, podUidOfNode, podUidOfOwned, type OrphanCandidate } from "./mapping.ts";
import type { ControllerMetrics } from "./metrics.ts";
import type { ControllerCaches } from "./reconciler.ts";

export interface OrphanSweepDeps {
  readonly caches: ControllerCaches;
  readonly writer: ClusterWriter;
  readonly config: () => ControllerConfig;
  readonly metrics: ControllerMetrics;
  readonly logger: Logger;
}

/** What exists in the caches for pods that no longer do. */
export function orphanCandidates(deps: Pick<OrphanSweepDeps, "caches" | "config">): OrphanCandidate[] {
  const { caches } = deps;
  const config = deps.config();
  const owned = (kind: "VirtualMachineInstance" | "Secret" | "BootstrapToken") => (o: V1VirtualMachineInstance | V1Secret): OrphanCandidate =>
    ({ kind, namespace: o.metadata?.namespace, name: o.metadata?.name ?? "", podUid: podUidOfOwned(o) });
  const candidates: OrphanCandidate[] = [
    ...caches.vmis.list().map(owned("VirtualMachineInstance")),
    ...caches.userDataSecrets.list().map(owned("Secret")),
    ...caches.tokens.list().map(owned("BootstrapToken")),
    // A node is the controller's to remove only under the name it gave the pod's VM, never for a label alone.
    ...caches.nodes.list().filter((n) => isControllerNode(n, config)).map((n) => ({ kind: "Node" as const, namespace: undefined, name: n.metadata?.name ?? "", podUid: podUidOfNode(n) })),
  ];
  return findOrphans(candidates, new Set(caches.pods.list().map((p) => p.metadata?.uid ?? "")));
}

/** One sweep: each orphan deleted through the reconciler's writer; a failure is logged and left to the next sweep. */
export async function sweepOrphans(deps: OrphanSweepDeps): Promise<void> {
  for (const orphan of orphanCandidates(deps)) {
    try {
      const namespace = orphan.namespace ?? "";
      const deleted = orphan.kind === "VirtualMachineInstance"
        ? await deps.writer.deleteVmi(namespace, orphan.name)
        : orphan.kind === "Node"
          ? await deps.writer.deleteNode(orphan.name)
          : await deps.writer.deleteSecret(namespace, orphan.name);
      if (!deleted) continue;
      deps.metrics.orphanRemoved(orphan.kind);
      deps.logger.info({ kind: orphan.kind, name: orphan.name, podUid: orphan.podUid }, "orphan removed");
    } catch (error) {
      deps.logger.warn({ err: error, kind: orphan.kind, name: orphan.name }, "could not remove orphan");
    }
  }
}
