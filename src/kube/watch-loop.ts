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

function jittered(attempt: number): number {
  const base = Math.min(MAX_BACKOFF_MS, 200 * 2 ** attempt);
  return base * (0.5 + Math.random());
}

/**
 * A watch that never gives up: it restarts after any error with jittered
 * backoff, resumes from the last resourceVersion it saw, and starts over with a
 * fresh listing (synthetic ADDED events) when the server answers 410 Gone.
 * Handlers must be idempotent: after a restart they may see an object again.
 */
export async function runWatchLoop<T extends WatchedObject>(options: WatchLoopOptions<T>): Promise<void> {
  const watch = new Watch(options.kubeConfig);
  let resourceVersion: string | undefined;
  let failures = 0;
  while (!options.signal.aborted) {
    const ended = await new Promise<unknown>((resolve) => {
      const query: Record<string, string | boolean> = { allowWatchBookmarks: true };
      if (resourceVersion) query.resourceVersion = resourceVersion;
      if (options.labelSelector) query.labelSelector = options.labelSelector;
      let controller: AbortController | undefined;
      const onAbort = () => controller?.abort();
      watch
        .watch(
          options.path,
          query,
          (type: string, object: T & { code?: number; message?: string }) => {
            if (type === "ERROR") {
              if (object.code === 410) resourceVersion = undefined;
              options.logger.debug({ path: options.path, status: object.message }, "watch error event");
              return;
            }
            const rv = object.metadata?.resourceVersion;
            if (rv) resourceVersion = rv;
            failures = 0;
            if (type === "ADDED" || type === "MODIFIED" || type === "DELETED") options.onEvent(type, object);
          },
          (error: unknown) => {
            options.signal.removeEventListener("abort", onAbort);
            resolve(error);
          },
        )
        .then((c) => {
          controller = c;
          options.signal.addEventListener("abort", onAbort, { once: true });
        }, resolve);
    });
    if (options.signal.aborted) return;
    if (ended) {
      failures++;
      options.logger.warn({ path: options.path, err: ended, failures }, "watch failed; restarting");
    }
    await new Promise((resolve) => setTimeout(resolve, ended ? jittered(failures) : 0));
  }
}
