/** Percentiles of samples and of Prometheus histograms: the arithmetic of the pipeline benchmark, kept pure. */

export interface Summary {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** Nearest-rank percentile of ascending values; NaN when there are none. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return { count: sorted.length, p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), p99: percentile(sorted, 0.99), max: sorted.at(-1) ?? Number.NaN };
}

/** Cumulative count per bucket upper bound (+Inf as Infinity). */
export type Buckets = ReadonlyMap<number, number>;

/** `a="x",b="y"` → { a: "x", b: "y" } (label values in /metrics never hold `",` here). */
function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const match of text.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[match[1] ?? ""] = match[2] ?? "";
  return labels;
}

/** The `<name>_bucket` series of a Prometheus text exposition whose labels pass `keep`, summed per bound. */
export function histogramBuckets(text: string, name: string, keep: (labels: Record<string, string>) => boolean = () => true): Buckets {
  const buckets = new Map<number, number>();
  const prefix = `${name}_bucket{`;
  for (const line of text.split("\n")) {
    if (!line.startsWith(prefix)) continue;
    const close = line.lastIndexOf("}");
    const labels = parseLabels(line.slice(prefix.length, close));
    const value = Number(line.slice(close + 1).trim().split(" ")[0]);
    if (labels.le === undefined || !Number.isFinite(value) || !keep(labels)) continue;
    const bound = labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(labels.le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + value);
  }
  return buckets;
}

/** Observations made between two scrapes of the same counters. */
export function bucketsSince(before: Buckets, after: Buckets): Buckets {
  return new Map([...after].map(([bound, count]) => [bound, count - (before.get(bound) ?? 0)]));
}

export const bucketTotal = (buckets: Buckets): number => buckets.get(Number.POSITIVE_INFINITY) ?? 0;

/**
 * The q-quantile as Prometheus's histogram_quantile estimates it: linear within
 * the bucket that holds it, the lowest bucket starting at 0; the highest finite
 * bound when it falls in +Inf. undefined without observations.
 */
export function histogramQuantile(buckets: Buckets, q: number): number | undefined {
  const total = bucketTotal(buckets);
  if (total === 0) return undefined;
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bound of bounds) {
    const count = buckets.get(bound) ?? 0;
    if (count >= rank) {
      if (bound === Number.POSITIVE_INFINITY) return lowerBound;
      return count === lowerCount ? bound : lowerBound + ((bound - lowerBound) * (rank - lowerCount)) / (count - lowerCount);
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}

/**
 * Upper bound of the first bucket holding the q-th share of observations: all a
 * bucketed histogram can promise ("p99 <= bound"), Infinity when that is +Inf;
 * undefined without observations.
 */
export function bucketBound(buckets: Buckets, q: number): number | undefined {
  const total = bucketTotal(buckets);
  if (total === 0) return undefined;
  return [...buckets.keys()].sort((a, b) => a - b).find((bound) => (buckets.get(bound) ?? 0) >= q * total);
}

/** Share of observations at or under `bound` (one of the bucket bounds). */
export function shareAtOrUnder(buckets: Buckets, bound: number): number {
  const total = bucketTotal(buckets);
  return total === 0 ? Number.NaN : (buckets.get(bound) ?? 0) / total;
}

/** A counter's samples summed per key (e.g. `verb resource`), from a Prometheus text exposition. */
export function counterTotals(text: string, name: string, keyOf: (labels: Record<string, string>) => string): Map<string, number> {
  const totals = new Map<string, number>();
  const prefix = `${name}{`;
  for (const line of text.split("\n")) {
    if (!line.startsWith(prefix)) continue;
    const close = line.lastIndexOf("}");
    const value = Number(line.slice(close + 1).trim().split(" ")[0]);
    if (!Number.isFinite(value)) continue;
    const key = keyOf(parseLabels(line.slice(prefix.length, close)));
    totals.set(key, (totals.get(key) ?? 0) + value);
  }
  return totals;
}

/** The `count` largest increases between two counter totals, largest first. */
export function topIncreases(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>, count: number): [string, number][] {
  return [...after]
    .map(([key, value]): [string, number] => [key, value - (before.get(key) ?? 0)])
    .filter(([, increase]) => increase > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, count);
}

/** Our webhook's latency over a window, as the API server timed it. */
export interface WebhookLatency {
  /** Estimated like Prometheus's histogram_quantile; null without calls. */
  readonly p99Ms: number | null;
  /** The share within the first bucket (5 ms): what the coarse buckets can say exactly. */
  readonly shareUnder5Ms: number | null;
  readonly calls: number;
  /** Cumulative calls per bucket bound in ms ("+Inf" last). */
  readonly buckets: Record<string, number>;
}

const FAST_BUCKET_SECONDS = 0.005;
const finiteOrNull = (value: number | undefined, digits: number): number | null =>
  value === undefined || !Number.isFinite(value) ? null : Number(value.toFixed(digits));

export function webhookLatency(buckets: Buckets): WebhookLatency {
  const p99 = histogramQuantile(buckets, 0.99);
  return {
    p99Ms: finiteOrNull(p99 === undefined ? undefined : p99 * 1000, 2),
    shareUnder5Ms: finiteOrNull(shareAtOrUnder(buckets, FAST_BUCKET_SECONDS), 4),
    calls: bucketTotal(buckets),
    buckets: Object.fromEntries([...buckets].sort(([a], [b]) => a - b).map(([bound, count]) => [Number.isFinite(bound) ? String(bound * 1000) : "+Inf", count])),
  };
}
