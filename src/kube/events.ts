import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";

export type EventType = "Normal" | "Warning";

/** The fields an Event needs of the object it is about; any typed API object fits. */
export interface EventSubject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly uid?: string };
}

export interface EventRecorder {
  record(object: EventSubject, type: EventType, reason: string, message: string): Promise<void>;
}

/** The same Event about the same object is said once in this long (client-go's recorder aggregates them too). */
export const REPEAT_WINDOW_MS = 10 * 60_000;
const REMEMBERED_EVENTS = 10_000;

/**
 * Whether an Event is a repeat of one said within the window: two reconciles that both ran before the cache saw
 * the first one's write would otherwise report it twice. Remembers at most REMEMBERED_EVENTS, oldest forgotten first.
 */
export function createRepeatFilter(now: () => number, windowMs = REPEAT_WINDOW_MS): (key: string) => boolean {
  const said = new Map<string, number>();
  return (key) => {
    const at = now();
    const last = said.get(key);
    if (last !== undefined && at - last < windowMs) return true;
    said.delete(key);
    said.set(key, at);
    if (said.size > REMEMBERED_EVENTS) said.delete(said.keys().next().value ?? "");
    return false;
  };
}

/**
 * Records core/v1 Events, each distinct one once per REPEAT_WINDOW_MS; a failure to record is logged, never
 * thrown, so it cannot break a reconcile.
 */
export function createEventRecorder(kubeConfig: KubeConfig, component: string, logger: Logger, now: () => number = Date.now): EventRecorder {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const isRepeat = createRepeatFilter(now);
  return {
    async record(object, type, reason, message) {
      if (isRepeat(JSON.stringify([object.metadata?.uid ?? object.metadata?.name, type, reason, message]))) return;
      const namespace = object.metadata?.namespace ?? "default";
      const now = new Date();
      try {
        await core.createNamespacedEvent({
          namespace,
          body: {
            metadata: { generateName: `${object.metadata?.name ?? "object"}.`, namespace },
            involvedObject: {
              apiVersion: object.apiVersion,
              kind: object.kind,
              name: object.metadata?.name,
              namespace: object.metadata?.namespace,
              uid: object.metadata?.uid,
            },
            type,
            reason,
            message,
            source: { component },
            reportingComponent: component,
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
          },
        });
      } catch (error) {
        logger.warn({ err: error, reason }, "could not record event");
      }
    },
  };
}
