import { Counter, Histogram, type Registry } from "prom-client";
import type { AdmissionOutcome } from "../src/admission/server.ts";
import { METRIC_NAMES } from "../src/api/metric-names.ts";

export interface WebhookMetrics {
  observe(outcome: AdmissionOutcome): void;
  certificateReloaded(result: "ok" | "error"): void;
}

export function createWebhookMetrics(registry: Registry): WebhookMetrics {
  const requests = new Counter({
    name: METRIC_NAMES.webhookRequests,
    help: "Admission requests answered, by path and result (allowed, patched, denied, invalid, error).",
    labelNames: ["path", "result"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: METRIC_NAMES.webhookDuration,
    help: "Time from request start to answer, as the webhook measures it.",
    labelNames: ["path", "result"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const reloads = new Counter({
    name: METRIC_NAMES.webhookCertificateReloads,
    help: "Serving certificate reloads from disk, by result.",
    labelNames: ["result"] as const,
    registers: [registry],
  });
  return {
    observe({ path, result, seconds }) {
      requests.inc({ path, result });
      duration.observe({ path, result }, seconds);
    },
    certificateReloaded(result) {
      reloads.inc({ result });
    },
  };
}
