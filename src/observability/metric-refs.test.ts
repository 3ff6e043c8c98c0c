import { collectDefaultMetrics, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { baseMetricName, exportedMetricNames, metricNamesIn, shippedExpressions } from "./metric-refs.ts";
import { alertNames, RECORDED, ruleGroups } from "./rules.ts";

describe("metric names in PromQL", () => {
  it("finds series names, not functions, keywords, labels, strings or ranges", () => {
    expect(metricNamesIn('histogram_quantile(0.99, sum by (le, phase) (rate(a_bucket{phase="x_y", le!="1"}[5m]))) > on (job) group_left b_total offset 5m')).toEqual(["a_bucket", "b_total"]);
    expect(metricNamesIn("sum(up) < 1 or absent(up)")).toEqual(["up"]);
    expect(metricNamesIn("min by (what) (c) - time() < 2592000")).toEqual(["c"]);
    expect(metricNamesIn("maroonedpods:errors:ratio_rate5m > 0.1")).toEqual(["maroonedpods:errors:ratio_rate5m"]);
  });

  it("maps histogram series back to their metric", () => {
    const known = new Set(["h_seconds", "plain_count"]);
    expect(baseMetricName("h_seconds_bucket", known)).toBe("h_seconds");
    expect(baseMetricName("plain_count", known)).toBe("plain_count");
  });

  it("every rule and panel names only metrics MaroonedPods exports, or a recording rule it ships", () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const exported = exportedMetricNames(registry.getMetricsAsArray().map((m) => m.name));
    const recorded = new Set<string>(Object.values(RECORDED));
    for (const { where, expr } of shippedExpressions()) {
      for (const name of metricNamesIn(expr)) {
        expect(exported.has(baseMetricName(name, exported)) || recorded.has(name), `${where}: ${name}`).toBe(true);
      }
    }
  });

  it("ships the alerts the issue asks for, each recording rule used", () => {
    expect(alertNames(ruleGroups())).toEqual(expect.arrayContaining([
      "MaroonedPodsReconcileErrors", "MaroonedPodsPodGatedTooLong", "MaroonedPodsVMLaunchFailures", "MaroonedPodsAttemptsExhausted",
      "MaroonedPodsWebhookErrors", "MaroonedPodsWebhookSlow", "MaroonedPodsWebhookCertificateExpiring", "MaroonedPodsNoLeader",
    ]));
    const used = new Set(shippedExpressions().flatMap(({ expr }) => metricNamesIn(expr)));
    for (const record of Object.values(RECORDED)) expect(used.has(record), record).toBe(true);
  });
});
