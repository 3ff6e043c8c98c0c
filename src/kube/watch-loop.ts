import { Watch, type KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

/** Anything the API serves: client-node and KubeVirt types disagree on date fields, so only this is assumed. */
export interface WatchedObject {
  readonly metadata?: { readonly resourceVersion?: string };
}

export interface WatchLoopOptions<T extends WatchedObject> {
  readonly kubeConfig: KubeConfig;
  /** Collection path, e.g. /apis/kubevirt.io/v1/virtualmachineinstances */
  readonly path: string;
  readonly labelSelector?: string;
  readonly logger: Logger;
  readonly onEvent: (type: WatchEventType, object: T) => void;
  readonly signal: AbortSignal;
}

const MAX_BACKOFF_MS = 10_000;
/**
 * client-node aborts a watch after 30 s without a line, and that is our stall
 * detector; so ask the server to end each watch cleanly before then and resume
 * from the last resourceVersion (bookmarks keep it fresh).
 */
const WATCH_SECONDS = { min: 20, spread: 5 } as const;

function jittered(attempt: number): number {
  const base = Math.min(MAX_BACKOFF_MS, 200 * 2 ** attempt);
  return base * (0.5 + Math.random());
}

/**
 * A watch that never gives up: it restarts after any error (a stream silent
 * for too long counts as one) with jittered
 * backoff, resumes from the last resourceVersion it saw, and starts over with a
 * fresh listing (synthetic ADDED events) when the server answers 410 Gone.
 * Handlers must be idempotent: after a restart they may see an object again.
 */
export async function runWatchLoop<T extends WatchedObject>(options: WatchLoopOptions<T>): Promise<void> {
  const watch = new Watch(options.kubeConfig);
  const stopped = () => options.signal.aborted;
  let resourceVersion: string | undefined;
  let failures = 0;
  const onLine = (type: string, object: T & { code?: number; message?: string }) => {
    if (type === "ERROR") {
      if (object.code === 410) resourceVersion = undefined;
      options.logger.debug({ path: options.path, status: object.message }, "watch error event");
      return;
    }
    const rv = object.metadata?.resourceVersion;
    if (rv) resourceVersion = rv;
    failures = 0;
    if (type === "ADDED" || type === "MODIFIED" || type === "DELETED") options.onEvent(type, object);
  };
  while (!stopped()) {
    const query: Record<string, string | number | boolean> = {
      allowWatchBookmarks: true,
      timeoutSeconds: WATCH_SECONDS.min + Math.floor(Math.random() * WATCH_SECONDS.spread),
    };
    if (resourceVersion) query.resourceVersion = resourceVersion;
    if (options.labelSelector) query.labelSelector = options.labelSelector;
    const error = await new Promise<unknown>((resolve) => {
      watch.watch(options.path, query, onLine, resolve).then((controller) => {
        if (stopped()) controller.abort();
        else options.signal.addEventListener("abort", () => { controller.abort(); }, { once: true });
      }, resolve);
    });
    if (stopped()) return;
    if (error) {
      failures++;
      options.logger.warn({ path: options.path, err: error, failures }, "watch failed; restarting");
      await new Promise((resolve) => setTimeout(resolve, jittered(failures)));
    }
  }
}
