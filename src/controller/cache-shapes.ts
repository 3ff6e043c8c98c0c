import type { V1Node, V1Secret } from "@kubernetes/client-node";
import type { CachedObject } from "../kube/list-watch-cache.ts";

/**
 * What the caches keep of each object: only what the controller reads, so that thousands of cached objects stay
 * small. A field newly read from a cached node or user-data Secret must be kept here too.
 */

/** managedFields: the bulk of an object's metadata, read by nothing. */
export function slim<T extends CachedObject & { metadata?: { managedFields?: unknown } }>(object: T): T {
  if (object.metadata?.managedFields) delete object.metadata.managedFields;
  return object;
}

/**
 * Every node is cached (a VM name must never be an existing node's): its metadata, taints, addresses and conditions
 * (verification, readiness, the pool's checks), not its images, capacity, nodeInfo or daemon endpoints.
 */
export function slimNode(node: V1Node): V1Node {
  const { apiVersion, kind, metadata, spec, status } = slim(node);
  return {
    apiVersion,
    kind,
    metadata,
    ...(spec?.taints ? { spec: { taints: spec.taints } } : {}),
    ...(status ? { status: { addresses: status.addresses, conditions: status.conditions } } : {}),
  };
}

/** A VM's user data is written once and never read back: only its metadata says whose it is. */
export function slimUserDataSecret(secret: V1Secret): V1Secret {
  const { apiVersion, kind, metadata, type } = slim(secret);
  return { apiVersion, kind, metadata, type };
}
