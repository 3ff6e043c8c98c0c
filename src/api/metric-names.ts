/** Every Prometheus metric MaroonedPods exports, named in one place. */
export const METRIC_NAMES = {
  webhookRequests: "maroonedpods_webhook_admission_requests_total",
  webhookDuration: "maroonedpods_webhook_admission_duration_seconds",
  webhookCertificateReloads: "maroonedpods_webhook_certificate_reloads_total",
  phaseDuration: "maroonedpods_phase_duration_seconds",
  reconcileErrors: "maroonedpods_reconcile_errors_total",
  reconcileDuration: "maroonedpods_reconcile_duration_seconds",
  queueDepth: "maroonedpods_workqueue_depth",
  queueWait: "maroonedpods_workqueue_wait_seconds",
  vms: "maroonedpods_vms",
  teardowns: "maroonedpods_teardowns_total",
  orphansRemoved: "maroonedpods_orphans_removed_total",
  isLeader: "maroonedpods_leader",
  pods: "maroonedpods_pods",
  oldestGatedPodAge: "maroonedpods_oldest_gated_pod_age_seconds",
  events: "maroonedpods_events_total",
  webhookCertificateRotations: "maroonedpods_webhook_certificate_rotations_total",
  webhookCertificateExpiry: "maroonedpods_webhook_certificate_expiry_timestamp_seconds",
  webhookCertificateSyncErrors: "maroonedpods_webhook_certificate_sync_errors_total",
  warmPoolVms: "maroonedpods_warm_pool_vms",
  warmPoolClaims: "maroonedpods_warm_pool_claims_total",
  warmPoolMisses: "maroonedpods_warm_pool_misses_total",
} as const;

/** prom-client's default process and Node.js metrics, exported by each component under its own prefix. */
export const DEFAULT_METRICS_PREFIX = { controller: "maroonedpods_controller_", webhook: "maroonedpods_webhook_" } as const;
