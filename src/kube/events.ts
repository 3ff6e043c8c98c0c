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

/** Records core/v1 Events; a failure to record is logged, never thrown, so it cannot break a reconcile. */
export function createEventRecorder(kubeConfig: KubeConfig, component: string, logger: Logger): EventRecorder {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  return {
    async record(object, type, reason, message) {
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
