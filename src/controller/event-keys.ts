import type { V1Node, V1Pod } from "@kubernetes/client-node";
import type { CacheHandlers, CachedObject } from "../kube/list-watch-cache.ts";
import { podKeyOf, podKeyOfOwned, podUidOfNode } from "./mapping.ts";

/** Where cache events send pod keys: the work queue. */
export interface KeySink {
  add(key: string, urgent: boolean): void;
}

export interface EventKeyHandlers {
  readonly pods: CacheHandlers<V1Pod>;
  /** VMIs, user-data Secrets and tokens: each names its pod. */
  readonly owned: CacheHandlers<CachedObject>;
  readonly nodes: CacheHandlers<V1Node>;
}

/**
 * Cache events to pod keys. Nodes know their pod only by UID: the pods' own events keep the UID-to-key map. A node
 * event (registered, Ready, trusted) finishes a pod already under way, so its key is urgent: it goes ahead of new
 * launches, or under a burst of pods the release waits behind all of them (pipeline benchmark).
 */
export function eventKeyHandlers(sink: KeySink): EventKeyHandlers {
  const keyByUid = new Map<string, string>();
  const add = (key: string | undefined, urgent = false) => {
    if (key) sink.add(key, urgent);
  };
  const onPod = (pod: V1Pod) => {
    const key = podKeyOf(pod);
    if (key && pod.metadata?.uid) keyByUid.set(pod.metadata.uid, key);
    add(key);
  };
  const onOwned = (object: CachedObject) => { add(podKeyOfOwned(object)); };
  const onNode = (node: V1Node) => {
    const uid = podUidOfNode(node);
    add(uid === undefined ? undefined : keyByUid.get(uid), true);
  };
  return {
    pods: { onAdd: onPod, onUpdate: onPod, onDelete: (pod) => { if (pod.metadata?.uid) keyByUid.delete(pod.metadata.uid); } },
    owned: { onAdd: onOwned, onUpdate: onOwned, onDelete: onOwned },
    nodes: { onAdd: onNode, onUpdate: onNode, onDelete: onNode },
  };
}
