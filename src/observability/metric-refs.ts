import { DEFAULT_METRICS_PREFIX, METRIC_NAMES } from "../api/metric-names.ts";
import { dashboardPanels, GRAFANA_VARIABLES } from "./dashboard.ts";
import { ruleGroups, type RuleGroup } from "./rules.ts";

const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "inf", "nan"]);

/**
 * The series names a PromQL expression reads: identifiers that are neither a
 * function (followed by `(`), a keyword, a label (inside `{}` or a grouping
 * clause) nor part of a string or a range.
 */
export function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  const names = [...bare.matchAll(/(?<![A-Za-z0-9_:.])[A-Za-z_:][A-Za-z0-9_:]*/g)]
    .filter((m) => !/^\s*\(/.test(bare.slice(m.index + m[0].length)))
    .map((m) => m[0])
    .filter((n) => !KEYWORDS.has(n.toLowerCase()));
  return [...new Set(names)];
}

/** A histogram's or summary's series name back to the metric it belongs to. */
export const baseMetricName = (series: string, metrics: ReadonlySet<string>): string => {
  const base = series.replace(/_(bucket|count|sum)$/, "");
  return metrics.has(series) ? series : base;
};

/** Every PromQL expression MaroonedPods ships: each rule's, each dashboard target's (Grafana variables filled in). */
export function shippedExpressions(groups: readonly RuleGroup[] = ruleGroups()): { where: string; expr: string }[] {
  const fill = (expr: string) => Object.entries(GRAFANA_VARIABLES).reduce((text, [variable, value]) => text.replaceAll(variable, value), expr);
  return [
    ...groups.flatMap((g) => g.rules.map((r) => ({ where: `rule ${"alert" in r ? r.alert : r.record}`, expr: r.expr }))),
    ...dashboardPanels().flatMap((p) => p.targets.map((t) => ({ where: `panel ${p.title}`, expr: fill(t.expr) }))),
  ];
}

/** The names the project's code exports: METRIC_NAMES, and the default metrics under each component's prefix. */
export function exportedMetricNames(defaultMetricNames: readonly string[]): Set<string> {
  return new Set([...Object.values(METRIC_NAMES), ...Object.values(DEFAULT_METRICS_PREFIX).flatMap((prefix) => defaultMetricNames.map((n) => prefix + n))]);
}
