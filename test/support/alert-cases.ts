import { stringify } from "yaml";
import { METRIC_NAMES as M } from "../../src/api/metric-names.ts";

/** One promtool unit test: synthetic series, then at `at` the alerts expected from one rule (none: it stays silent). */
export interface AlertCase {
  readonly name: string;
  readonly alert: string;
  readonly series: Readonly<Record<string, string>>;
  readonly at: string;
  readonly fires: readonly { readonly labels?: Readonly<Record<string, string>>; readonly annotations: Readonly<Record<string, string>> }[];
  readonly interval?: string;
}

const webhook = (result: string) => `${M.webhookRequests}{path="/mutate-pods",result="${result}"}`;
const bucket = (le: string) => `${M.webhookDuration}_bucket{path="/mutate-pods",result="patched",le="${le}"}`;
const warning = (reason: string) => `${M.events}{type="Warning",reason="${reason}"}`;

/** Each alert firing on a failure and silent when healthy; `annotations` are what Prometheus would render. */
export const ALERT_CASES: readonly AlertCase[] = [
  {
    name: "half the reconciles fail for 15 minutes",
    alert: "MaroonedPodsReconcileErrors",
    series: { [M.reconcileErrors]: "0+5x30", [`${M.reconcileDuration}_count{result="ok"}`]: "0+5x30", [`${M.reconcileDuration}_count{result="error"}`]: "0+5x30" },
    at: "20m",
    fires: [{ annotations: { summary: "More than 10% of the controller's reconciles fail.", description: "50% of reconciles failed over 5 minutes, for 10 minutes. The controller's log (level error) names the pod and the failed write." } }],
  },
  { name: "reconciles succeed", alert: "MaroonedPodsReconcileErrors", series: { [M.reconcileErrors]: "0x30", [`${M.reconcileDuration}_count{result="ok"}`]: "0+10x30" }, at: "20m", fires: [] },
  {
    name: "a pod has waited 15 minutes",
    alert: "MaroonedPodsPodGatedTooLong",
    series: { [M.oldestGatedPodAge]: "0+60x20" },
    at: "15m",
    fires: [{ annotations: { summary: "A marooned pod has waited for its VM node longer than the registration timeout (10m).", description: "The oldest gated pod has waited 15m 0s. `maroonedpods status` lists the pods; `kubectl describe pod` shows their conditions and events." } }],
  },
  { name: "pods wait 30 seconds", alert: "MaroonedPodsPodGatedTooLong", series: { [M.oldestGatedPodAge]: "30x20" }, at: "15m", fires: [] },
  {
    name: "a VM fails every minute",
    alert: "MaroonedPodsVMLaunchFailures",
    series: { [warning("VMFailed")]: "0+1x40", [warning("RegistrationTimedOut")]: "0x40" },
    at: "35m",
    fires: [{ annotations: { summary: "VMs keep failing, vanishing or not joining as nodes.", description: "30 VMs failed or timed out in 30 minutes. `kubectl get events -A --field-selector reason=VMFailed` (or RegistrationTimedOut) names them." } }],
  },
  { name: "no VM fails", alert: "MaroonedPodsVMLaunchFailures", series: { [warning("VMFailed")]: "0x40", [warning("VMDisappeared")]: "0x40" }, at: "35m", fires: [] },
  {
    name: "one pod gives up",
    alert: "MaroonedPodsAttemptsExhausted",
    series: { [warning("AttemptsExhausted")]: "0 0 0 0 0 1 1 1 1 1 1" },
    at: "10m",
    fires: [{ annotations: { summary: "A marooned pod used up its VM attempts and stays gated.", description: "The controller gave up on a pod after its last VM attempt; it will not try again. `kubectl get events -A --field-selector reason=AttemptsExhausted` names it." } }],
  },
  { name: "no pod gives up", alert: "MaroonedPodsAttemptsExhausted", series: { [warning("AttemptsExhausted")]: "0x10" }, at: "10m", fires: [] },
  {
    name: "2% of admission requests fail",
    alert: "MaroonedPodsWebhookErrors",
    series: { [webhook("error")]: "0+2x20", [webhook("patched")]: "0+98x20" },
    at: "15m",
    fires: [{ annotations: { summary: "The admission webhook fails requests: selected pods are rejected (failurePolicy Fail).", description: "2% of admission requests ended in an error over 5 minutes." } }],
  },
  { name: "no admission request fails", alert: "MaroonedPodsWebhookErrors", series: { [webhook("error")]: "0x20", [webhook("patched")]: "0+100x20" }, at: "15m", fires: [] },
  {
    name: "every review takes over 250 ms",
    alert: "MaroonedPodsWebhookSlow",
    series: { [bucket("0.25")]: "0x30", [bucket("1")]: "0+10x30", [bucket("+Inf")]: "0+10x30" },
    at: "20m",
    fires: [{ annotations: { summary: "The admission webhook's p99 latency is above 500 ms (its timeout is 5 s).", description: "p99 992.5ms over 5 minutes, for 10 minutes." } }],
  },
  { name: "reviews take under 250 ms", alert: "MaroonedPodsWebhookSlow", series: { [bucket("0.25")]: "0+10x30", [bucket("1")]: "0+10x30", [bucket("+Inf")]: "0+10x30" }, at: "20m", fires: [] },
  {
    name: "the serving certificate expires in 20 days",
    alert: "MaroonedPodsWebhookCertificateExpiring",
    series: { [`${M.webhookCertificateExpiry}{what="serving"}`]: "1728000x150", [`${M.webhookCertificateExpiry}{what="ca"}`]: "300000000x150" },
    at: "2h",
    fires: [{ labels: { what: "serving" }, annotations: { summary: "A webhook certificate expires within 30 days and was not renewed.", description: "The serving certificate expires in 19d 22h 0m 0s. The controller renews it when it checks: look for webhook certificate errors in its log." } }],
  },
  { name: "both certificates have months left", alert: "MaroonedPodsWebhookCertificateExpiring", series: { [`${M.webhookCertificateExpiry}{what="serving"}`]: "30000000x150" }, at: "2h", fires: [] },
  {
    name: "both replicas run and neither leads",
    alert: "MaroonedPodsNoLeader",
    series: { [`${M.isLeader}{pod="a"}`]: "0x10", [`${M.isLeader}{pod="b"}`]: "0x10" },
    at: "8m",
    fires: [{ annotations: { summary: "No controller replica has held the leader Lease for 5 minutes: no pod is launched, released or torn down.", description: "`kubectl -n maroonedpods-system get pods,lease` shows the replicas and the Lease." } }],
  },
  {
    name: "no replica reports at all",
    alert: "MaroonedPodsNoLeader",
    series: { [M.queueDepth]: "0x10" },
    at: "8m",
    fires: [{ annotations: { summary: "No controller replica has held the leader Lease for 5 minutes: no pod is launched, released or torn down.", description: "`kubectl -n maroonedpods-system get pods,lease` shows the replicas and the Lease." } }],
  },
  { name: "one replica leads", alert: "MaroonedPodsNoLeader", series: { [`${M.isLeader}{pod="a"}`]: "1x10", [`${M.isLeader}{pod="b"}`]: "0x10" }, at: "8m", fires: [] },
];

/** The promtool test file for `cases` against `ruleFile`; each alert's severity comes from the rule. */
export function promtoolTestFile(ruleFile: string, cases: readonly AlertCase[], severities: Readonly<Record<string, string>>): string {
  return stringify({
    rule_files: [ruleFile],
    evaluation_interval: "1m",
    tests: cases.map((c) => ({
      name: c.name,
      interval: c.interval ?? "1m",
      input_series: Object.entries(c.series).map(([series, values]) => ({ series, values })),
      alert_rule_test: [
        {
          eval_time: c.at,
          alertname: c.alert,
          exp_alerts: c.fires.map((f) => ({ exp_labels: { severity: severities[c.alert], ...f.labels }, exp_annotations: f.annotations })),
        },
      ],
    })),
  }, { lineWidth: 0 });
}
