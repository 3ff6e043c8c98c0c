import { DEFAULT_METRICS_PREFIX, METRIC_NAMES as M } from "../api/metric-names.ts";
import { RECORDED } from "./rules.ts";

/** Grafana's own variables in a query, and what a PromQL parser may read in their place. */
export const GRAFANA_VARIABLES: Readonly<Record<string, string>> = { $__rate_interval: "5m", $phase: "gateToReleased" };

interface Target {
  readonly expr: string;
  readonly legendFormat: string;
  readonly format?: "heatmap";
}

interface Panel {
  readonly title: string;
  readonly type: "timeseries" | "heatmap" | "stat";
  readonly unit: string;
  readonly targets: readonly Target[];
}

const RATE = "$__rate_interval";
const quantiles = (metric: string, by: string, where = "") =>
  [0.5, 0.99].map((q) => ({ expr: `histogram_quantile(${String(q)}, sum by (le${by ? `, ${by}` : ""}) (rate(${metric}_bucket${where}[${RATE}])))`, legendFormat: `p${String(q * 100)}${by ? ` {{${by}}}` : ""}` }));

/** The panels, in reading order: the pods, their VMs, the controller, the webhook, the certificates. */
export function dashboardPanels(): Panel[] {
  return [
    { title: "Marooned pods by phase", type: "timeseries", unit: "short", targets: [{ expr: `sum by (phase) (${M.pods})`, legendFormat: "{{phase}}" }] },
    { title: "Oldest gated pod", type: "stat", unit: "s", targets: [{ expr: `max(${M.oldestGatedPodAge})`, legendFormat: "waiting" }] },
    { title: "VMs by phase", type: "timeseries", unit: "short", targets: [{ expr: `sum by (phase) (${M.vms})`, legendFormat: "{{phase}}" }] },
    {
      title: "Phase durations ($phase)",
      type: "heatmap",
      unit: "s",
      targets: [{ expr: `sum by (le) (increase(${M.phaseDuration}_bucket{phase="$phase"}[${RATE}]))`, legendFormat: "{{le}}", format: "heatmap" }],
    },
    { title: "Phase duration quantiles", type: "timeseries", unit: "s", targets: quantiles(M.phaseDuration, "phase") },
    {
      title: "VM warnings by reason",
      type: "timeseries",
      unit: "short",
      targets: [{ expr: `sum by (reason) (increase(${M.events}{type="Warning"}[${RATE}]))`, legendFormat: "{{reason}}" }],
    },
    {
      title: "Reconciles and errors",
      type: "timeseries",
      unit: "ops",
      targets: [
        { expr: `sum by (result) (rate(${M.reconcileDuration}_count[${RATE}]))`, legendFormat: "{{result}}" },
        { expr: `sum(rate(${M.reconcileErrors}[${RATE}]))`, legendFormat: "errors" },
      ],
    },
    { title: "Reconcile error ratio", type: "timeseries", unit: "percentunit", targets: [{ expr: RECORDED.reconcileErrorRatio, legendFormat: "errors / reconciles" }] },
    {
      title: "Work queue",
      type: "timeseries",
      unit: "short",
      targets: [{ expr: `max(${M.queueDepth})`, legendFormat: "depth" }, ...quantiles(M.queueWait, "").map((t) => ({ ...t, legendFormat: `wait ${t.legendFormat} (s)` }))],
    },
    {
      title: "Webhook requests by result",
      type: "timeseries",
      unit: "reqps",
      targets: [{ expr: `sum by (result) (rate(${M.webhookRequests}[${RATE}]))`, legendFormat: "{{result}}" }],
    },
    { title: "Webhook latency", type: "timeseries", unit: "s", targets: quantiles(M.webhookDuration, "") },
    {
      title: "Webhook certificate expiry",
      type: "stat",
      unit: "s",
      targets: [{ expr: `min by (what) (${M.webhookCertificateExpiry}) - time()`, legendFormat: "{{what}}" }],
    },
    { title: "Leader", type: "stat", unit: "short", targets: [{ expr: `sum(${M.isLeader})`, legendFormat: "replicas leading" }] },
    {
      title: "Memory (RSS)",
      type: "timeseries",
      unit: "bytes",
      targets: Object.entries(DEFAULT_METRICS_PREFIX).map(([component, prefix]) => ({ expr: `max(${prefix}process_resident_memory_bytes)`, legendFormat: component })),
    },
  ];
}

const WIDTH = 12;
const HEIGHT = 8;
const DATASOURCE = { type: "prometheus", uid: "${datasource}" };

/** The dashboard as Grafana imports it: a datasource variable, a phase variable, two panels a row. */
export function grafanaDashboard(): Record<string, unknown> {
  return {
    title: "MaroonedPods",
    uid: "maroonedpods",
    description: "Marooned pods, their VMs, the controller and the admission webhook. Generated from src/observability/dashboard.ts.",
    tags: ["maroonedpods", "kubevirt"],
    timezone: "browser",
    schemaVersion: 39,
    version: 1,
    refresh: "30s",
    time: { from: "now-6h", to: "now" },
    templating: {
      list: [
        { name: "datasource", label: "Data source", type: "datasource", query: "prometheus" },
        {
          name: "phase",
          label: "Phase",
          type: "query",
          datasource: DATASOURCE,
          query: { query: `label_values(${M.phaseDuration}_bucket, phase)`, refId: "phase" },
          refresh: 2,
        },
      ],
    },
    panels: dashboardPanels().map((panel, i) => ({
      id: i + 1,
      title: panel.title,
      type: panel.type,
      datasource: DATASOURCE,
      gridPos: { x: (i % 2) * WIDTH, y: Math.floor(i / 2) * HEIGHT, w: WIDTH, h: HEIGHT },
      fieldConfig: { defaults: { unit: panel.unit }, overrides: [] },
      ...(panel.type === "heatmap" ? { options: { calculate: false, yAxis: { unit: panel.unit } } } : {}),
      targets: panel.targets.map((t, j) => ({ refId: String.fromCharCode(65 + j), datasource: DATASOURCE, ...t })),
    })),
  };
}
