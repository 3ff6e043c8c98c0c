import { describe, expect, it } from "vitest";
import { bucketBound, bucketsSince, counterTotals, histogramBuckets, histogramQuantile, percentile, shareAtOrUnder, summarize, topIncreases, webhookLatency } from "./stats.ts";

describe("percentile", () => {
  it("takes the nearest rank", () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 0.5)).toBe(50);
    expect(percentile(sorted, 0.99)).toBe(99);
    expect(percentile(sorted, 1)).toBe(100);
    expect(percentile([7], 0.01)).toBe(7);
  });
  it("is NaN without samples", () => {
    expect(percentile([], 0.5)).toBeNaN();
  });
});

describe("summarize", () => {
  it("sorts numerically before ranking", () => {
    expect(summarize([10, 9, 100, 2])).toEqual({ count: 4, p50: 9, p95: 100, p99: 100, max: 100 });
  });
});

const EXPOSITION = `# HELP apiserver_admission_webhook_admission_duration_seconds x
# TYPE apiserver_admission_webhook_admission_duration_seconds histogram
apiserver_admission_webhook_admission_duration_seconds_bucket{name="pods.maroonedpods.io",operation="CREATE",rejected="false",type="admit",le="0.005"} 90
apiserver_admission_webhook_admission_duration_seconds_bucket{name="pods.maroonedpods.io",operation="CREATE",rejected="false",type="admit",le="0.025"} 100
apiserver_admission_webhook_admission_duration_seconds_bucket{name="pods.maroonedpods.io",operation="CREATE",rejected="false",type="admit",le="+Inf"} 100
apiserver_admission_webhook_admission_duration_seconds_bucket{name="other.example",operation="CREATE",rejected="false",type="validating",le="0.005"} 0
apiserver_admission_webhook_admission_duration_seconds_bucket{name="other.example",operation="CREATE",rejected="false",type="validating",le="0.025"} 0
apiserver_admission_webhook_admission_duration_seconds_bucket{name="other.example",operation="CREATE",rejected="false",type="validating",le="+Inf"} 5
apiserver_admission_webhook_admission_duration_seconds_sum{name="pods.maroonedpods.io"} 0.3
`;
const NAME = "apiserver_admission_webhook_admission_duration_seconds";

describe("histogramBuckets", () => {
  it("keeps the series whose labels pass the filter", () => {
    const buckets = histogramBuckets(EXPOSITION, NAME, (labels) => labels.name === "pods.maroonedpods.io");
    expect([...buckets]).toEqual([[0.005, 90], [0.025, 100], [Number.POSITIVE_INFINITY, 100]]);
  });
  it("sums every series without a filter", () => {
    expect(histogramBuckets(EXPOSITION, NAME).get(Number.POSITIVE_INFINITY)).toBe(105);
  });
});

describe("histogramQuantile", () => {
  const buckets = histogramBuckets(EXPOSITION, NAME, (labels) => labels.name === "pods.maroonedpods.io");
  it("interpolates inside the bucket, as Prometheus does", () => {
    expect(histogramQuantile(buckets, 0.5)).toBeCloseTo(0.005 * (50 / 90));
    expect(histogramQuantile(buckets, 0.95)).toBeCloseTo(0.005 + 0.02 * 0.5);
  });
  it("answers the highest finite bound for the +Inf bucket, undefined when empty", () => {
    expect(histogramQuantile(new Map([[0.1, 0], [Number.POSITIVE_INFINITY, 3]]), 0.99)).toBe(0.1);
    expect(histogramQuantile(new Map([[Number.POSITIVE_INFINITY, 0]]), 0.99)).toBeUndefined();
  });
  it("counts only what happened between two scrapes", () => {
    const before = new Map([[0.005, 80], [0.025, 80], [Number.POSITIVE_INFINITY, 80]]);
    const since = bucketsSince(before, buckets);
    expect(shareAtOrUnder(since, 0.005)).toBeCloseTo(0.5);
  });
});

describe("bucketBound", () => {
  const buckets = histogramBuckets(EXPOSITION, NAME, (labels) => labels.name === "pods.maroonedpods.io");
  it("answers the bound of the first bucket holding the share, without interpolating", () => {
    expect(bucketBound(buckets, 0.5)).toBe(0.005);
    expect(bucketBound(buckets, 0.9)).toBe(0.005);
    expect(bucketBound(buckets, 0.99)).toBe(0.025);
  });
  it("answers Infinity for the +Inf bucket, undefined when empty", () => {
    expect(bucketBound(new Map([[0.1, 0], [Number.POSITIVE_INFINITY, 3]]), 0.99)).toBe(Number.POSITIVE_INFINITY);
    expect(bucketBound(new Map([[0.1, 0], [Number.POSITIVE_INFINITY, 0]]), 0.99)).toBeUndefined();
  });
});

describe("counterTotals and topIncreases", () => {
  const text = (leases: number, pods: number) => `apiserver_request_total{code="200",resource="leases",verb="PUT"} ${leases}
apiserver_request_total{code="409",resource="leases",verb="PUT"} 1
apiserver_request_total{code="201",resource="pods",verb="POST"} ${pods}
apiserver_request_total{code="200",resource="nodes",verb="GET"} 4
`;
  const key = (labels: Record<string, string>) => `${labels.verb ?? ""} ${labels.resource ?? ""}`;
  it("sums a counter per key and ranks what grew", () => {
    const before = counterTotals(text(10, 5), "apiserver_request_total", key);
    expect(before.get("PUT leases")).toBe(11);
    const after = counterTotals(text(110, 55), "apiserver_request_total", key);
    expect(topIncreases(before, after, 5)).toEqual([["PUT leases", 100], ["POST pods", 50]]);
  });
});

describe("webhookLatency", () => {
  it("estimates the p99 within its bucket and keeps the buckets in ms", () => {
    const latency = webhookLatency(new Map([[0.005, 98], [0.025, 100], [Number.POSITIVE_INFINITY, 100]]));
    expect(latency).toEqual({ p99Ms: 15, shareUnder5Ms: 0.98, calls: 100, buckets: { "5": 98, "25": 100, "+Inf": 100 } });
  });
  it("has no p99 and no share without calls", () => {
    expect(webhookLatency(new Map([[0.005, 0], [Number.POSITIVE_INFINITY, 0]]))).toMatchObject({ p99Ms: null, shareUnder5Ms: null, calls: 0 });
  });
});
