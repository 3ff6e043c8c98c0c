import { METRIC_NAMES as M } from "../api/metric-names.ts";
import { DEFAULT_SYSTEM_NAMESPACE } from "../api/names.ts";
import { parseDuration, SPEC_DEFAULTS } from "../controller/config.ts";
import { ALERTED_WARNINGS } from "../controller/metrics.ts";

export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
}

export interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: { readonly severity: "warning" | "critical" };
  readonly annotations: { readonly summary: string; readonly description: string };
}

export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly (RecordingRule | AlertingRule)[];
}

/** Recording rules the alerts and the dashboard share, named level:metric:operations. */
export const RECORDED = {
  reconcileErrorRatio: "maroonedpods:reconcile_errors:ratio_rate5m",
  webhookErrorRatio: "maroonedpods:webhook_admission_errors:ratio_rate5m",
  webhookLatencyP99: "maroonedpods:webhook_admission_duration_seconds:p99_rate5m",
} as const;

const CERTIFICATE_WARNING_DAYS = 30;
const reasons = (list: readonly string[]) => list.join("|");
const registrationTimeoutSeconds = (parseDuration(SPEC_DEFAULTS.registrationTimeout) ?? 0) / 1000;

/**
 * The alerts MaroonedPods ships, with the recording rules they read. Every
 * metric comes from METRIC_NAMES; `{{ $value }}` is Prometheus's template, for
 * the annotation text only.
 */
export function ruleGroups(): RuleGroup[] {
  return [
    {
      name: "maroonedpods.rules",
      rules: [
        { record: RECORDED.reconcileErrorRatio, expr: `sum(rate(${M.reconcileErrors}[5m])) / sum(rate(${M.reconcileDuration}_count[5m]))` },
        { record: RECORDED.webhookErrorRatio, expr: `sum(rate(${M.webhookRequests}{result="error"}[5m])) / sum(rate(${M.webhookRequests}[5m]))` },
        { record: RECORDED.webhookLatencyP99, expr: `histogram_quantile(0.99, sum by (le) (rate(${M.webhookDuration}_bucket[5m])))` },
      ],
    },
    {
      name: "maroonedpods.alerts",
      rules: [
        {
          alert: "MaroonedPodsReconcileErrors",
          expr: `${RECORDED.reconcileErrorRatio} > 0.1`,
          for: "10m",
          labels: { severity: "warning" },
          annotations: {
            summary: "More than 10% of the controller's reconciles fail.",
            description: "{{ $value | humanizePercentage }} of reconciles failed over 5 minutes, for 10 minutes. The controller's log (level error) names the pod and the failed write.",
          },
        },
        {
          alert: "MaroonedPodsPodGatedTooLong",
          expr: `max(${M.oldestGatedPodAge}) > ${String(registrationTimeoutSeconds)}`,
          for: "1m",
          labels: { severity: "warning" },
          annotations: {
            summary: `A marooned pod has waited for its VM node longer than the registration timeout (${SPEC_DEFAULTS.registrationTimeout}).`,
            description: "The oldest gated pod has waited {{ $value | humanizeDuration }}. `maroonedpods status` lists the pods; `kubectl describe pod` shows their conditions and events.",
          },
        },
        {
          alert: "MaroonedPodsVMLaunchFailures",
          expr: `sum(increase(${M.events}{type="Warning",reason=~"${reasons(ALERTED_WARNINGS.vmFailures)}"}[30m])) >= 3`,
          labels: { severity: "warning" },
          annotations: {
            summary: "VMs keep failing, vanishing or not joining as nodes.",
            description: "{{ $value | humanize }} VMs failed or timed out in 30 minutes. `kubectl get events -A --field-selector reason=VMFailed` (or RegistrationTimedOut) names them.",
          },
        },
        {
          alert: "MaroonedPodsAttemptsExhausted",
          expr: `sum(increase(${M.events}{type="Warning",reason=~"${reasons(ALERTED_WARNINGS.exhausted)}"}[30m])) > 0`,
          labels: { severity: "critical" },
          annotations: {
            summary: "A marooned pod used up its VM attempts and stays gated.",
            description: "The controller gave up on a pod after its last VM attempt; it will not try again. `kubectl get events -A --field-selector reason=AttemptsExhausted` names it.",
          },
        },
        {
          alert: "MaroonedPodsWebhookErrors",
          expr: `${RECORDED.webhookErrorRatio} > 0.01`,
          for: "5m",
          labels: { severity: "critical" },
          annotations: {
            summary: "The admission webhook fails requests: selected pods are rejected (failurePolicy Fail).",
            description: "{{ $value | humanizePercentage }} of admission requests ended in an error over 5 minutes.",
          },
        },
        {
          alert: "MaroonedPodsWebhookSlow",
          expr: `${RECORDED.webhookLatencyP99} > 0.5`,
          for: "10m",
          labels: { severity: "warning" },
          annotations: {
            summary: "The admission webhook's p99 latency is above 500 ms (its timeout is 5 s).",
            description: "p99 {{ $value | humanizeDuration }} over 5 minutes, for 10 minutes.",
          },
        },
        {
          alert: "MaroonedPodsWebhookCertificateExpiring",
          expr: `min by (what) (${M.webhookCertificateExpiry}) - time() < ${String(CERTIFICATE_WARNING_DAYS * 86_400)}`,
          for: "1h",
          labels: { severity: "warning" },
          annotations: {
            summary: `A webhook certificate expires within ${String(CERTIFICATE_WARNING_DAYS)} days and was not renewed.`,
            description: "The {{ $labels.what }} certificate expires in {{ $value | humanizeDuration }}. The controller renews it when it checks: look for webhook certificate errors in its log.",
          },
        },
        {
          alert: "MaroonedPodsNoLeader",
          expr: `sum(${M.isLeader}) < 1 or absent(${M.isLeader})`,
          for: "5m",
          labels: { severity: "critical" },
          annotations: {
            summary: "No controller replica has held the leader Lease for 5 minutes: no pod is launched, released or torn down.",
            description: `\`kubectl -n ${DEFAULT_SYSTEM_NAMESPACE} get pods,lease\` shows the replicas and the Lease.`,
          },
        },
      ],
    },
  ];
}

/** The alerting rules alone, by name. */
export const alertNames = (groups: readonly RuleGroup[]): string[] =>
  groups.flatMap((g) => g.rules.flatMap((r) => ("alert" in r ? [r.alert] : [])));
