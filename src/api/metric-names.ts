/** Every Prometheus metric MaroonedPods exports, named in one place. */
export const METRIC_NAMES = {
  webhookRequests: "maroonedpods_webhook_admission_requests_total",
  webhookDuration: "maroonedpods_webhook_admission_duration_seconds",
  webhookCertificateReloads: "maroonedpods_webhook_certificate_reloads_total",
} as const;
