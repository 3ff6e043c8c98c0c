import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { pino, type Logger } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { httpStatusOf, KubeHttpError } from "./errors.ts";
import {
  backoffDelayMs,
  cacheKeyOf,
  createListWatchCache,
  diffRelist,
  type CachedObject,
  type CacheHandlers,
} from "./list-watch-cache.ts";

interface Obj extends CachedObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string };
  data?: Record<string, string>;
}

const obj = (name: string, resourceVersion?: string, extra: { namespace?: string; uid?: string } = {}): Obj => ({
  metadata: { name, namespace: "ns", ...(resourceVersion ? { resourceVersion } : {}), ...extra },
});
const storeOf = (...objects: Obj[]): Map<string, Obj> => new Map(objects.map((o) => [cacheKeyOf(o) ?? "", o]));

describe("cacheKeyOf", () => {
  it("keys namespaced objects by namespace/name and cluster-scoped ones by name", () => {
    expect(cacheKeyOf({ metadata: { name: "a", namespace: "ns" } })).toBe("ns/a");
    expect(cacheKeyOf({ metadata: { name: "node-1" } })).toBe("node-1");
    expect(cacheKeyOf({ metadata: {} })).toBeUndefined();
    expect(cacheKeyOf({})).toBeUndefined();
  });
});

describe("diffRelist", () => {
  it("treats everything as added against an empty store", () => {
    const listed = [obj("a", "1"), obj("b", "2")];
    expect(diffRelist(new Map(), listed)).toEqual({ added: listed, updated: [], deleted: [] });
  });

  it("finds adds, updates of changed resourceVersions and deletes of vanished objects", () => {
    const [a1, b1, c1] = [obj("a", "1"), obj("b", "1"), obj("c", "1")];
    const [a1again, b2, d1] = [obj("a", "1"), obj("b", "2"), obj("d", "1")];
    const diff = diffRelist(storeOf(a1, b1, c1), [a1again, b2, d1]);
    expect(diff.added).toEqual([d1]);
    expect(diff.updated).toEqual([{ object: b2, old: b1 }]);
    expect(diff.deleted).toEqual([c1]);
  });

  it("reports nothing when nothing changed", () => {
    expect(diffRelist(storeOf(obj("a", "1"), obj("b", "7")), [obj("b", "7"), obj("a", "1")])).toEqual({ added: [], updated: [], deleted: [] });
  });

  it("turns an object recreated under the same name into a delete plus an add", () => {
    const old = obj("a", "1", { uid: "u1" });
    const recreated = obj("a", "9", { uid: "u2" });
    expect(diffRelist(storeOf(old), [recreated])).toEqual({ added: [recreated], updated: [], deleted: [old] });
  });

  it("keys by namespace, so equal names in two namespaces are distinct", () => {
    const x = obj("a", "1", { namespace: "x" });
    const y = obj("a", "1", { namespace: "y" });
    expect(diffRelist(storeOf(x), [x, y])).toEqual({ added: [y], updated: [], deleted: [] });
  });

  it("counts an object without a resourceVersion as updated and ignores objects without a name", () => {
    const a = obj("a");
    expect(diffRelist(storeOf(obj("a")), [a, { metadata: {} } as Obj])).toEqual({ added: [], updated: [{ object: a, old: obj("a") }], deleted: [] });
  });
});

describe("backoffDelayMs", () => {
  it("grows exponentially from 200 ms, jittered into [half, full]", () => {
    expect(backoffDelayMs(1, () => 0)).toBe(100);
    expect(backoffDelayMs(1, () => 1)).toBe(200);
    expect(backoffDelayMs(2, () => 1)).toBe(400);
    expect(backoffDelayMs(4, () => 0.5)).toBe(1200);
  });

  it("is capped at 30 s", () => {
    expect(backoffDelayMs(30, () => 1)).toBe(30_000);
    expect(backoffDelayMs(1000, () => 0)).toBe(15_000);
  });
});

describe("httpStatusOf", () => {
  it("reads our errors, client-node Watch errors and Status-like objects", () => {
    expect(httpStatusOf(new KubeHttpError(403, "forbidden"))).toBe(403);
    expect(httpStatusOf(Object.assign(new Error("Gone"), { statusCode: 410 }))).toBe(410);
    expect(httpStatusOf({ code: 500 })).toBe(500);
    expect(httpStatusOf(new Error("ECONNRESET"))).toBeUndefined();
  });
});

// ---- The loop, against a scripted fake API server (plain HTTP, in-process) ----

type Step = (res: ServerResponse, url: URL) => void;

const listAnswer =
  (items: Obj[], resourceVersion: string, continueToken?: string): Step =>
  (res) => {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ kind: "ConfigMapList", apiVersion: "v1", metadata: { resourceVersion, ...(continueToken ? { continue: continueToken } : {}) }, items }));
  };
const statusAnswer =
  (code: number, body = JSON.stringify({ kind: "Status", code, message: `fake ${code}` })): Step =>
  (res) => {
    res.writeHead(code, { "Content-Type": "application/json" });
    res.end(body);
  };
/** A watch stream: the given events, then either the server closes it or it stays open. */
const watchAnswer =
  (events: { type: string; object: unknown }[], then: "close" | "hold"): Step =>
  (res) => {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.flushHeaders();
    for (const event of events) res.write(`${JSON.stringify(event)}\n`);
    if (then === "close") res.end();
  };

interface FakeServer {
  readonly kubeConfig: KubeConfig;
  readonly requests: URL[];
  readonly openWatches: () => number;
}

const servers: Server[] = [];
const controllers: AbortController[] = [];
afterEach(async () => {
  for (const controller of controllers.splice(0)) controller.abort();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function fakeApiServer(steps: Step[]): Promise<FakeServer> {
  const requests: URL[] = [];
  let open = 0;
  const server = createServer((req: IncomingMessage, res) => {
    const url = new URL(req.url ?? "/", "http://fake");
    requests.push(url);
    if (url.searchParams.get("watch") === "true") {
      open++;
      res.on("close", () => open--);
    }
    const step = steps.shift();
    if (step) step(res, url);
    else if (url.searchParams.get("watch") === "true") watchAnswer([], "hold")(res, url);
    else statusAnswer(500)(res, url);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: "fake", server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "c", cluster: "fake", user: "u" }],
    currentContext: "c",
  });
  return { kubeConfig, requests, openWatches: () => open };
}

function capturingLogger(): { logger: Logger; entries: { level: number; msg: string }[] } {
  const entries: { level: number; msg: string }[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => entries.push(JSON.parse(line) as { level: number; msg: string }) });
  return { logger, entries };
}

function recorder() {
  const events: string[] = [];
  const handlers: CacheHandlers<Obj> = {
    onAdd: (o) => events.push(`add ${o.metadata.name}@${o.metadata.resourceVersion ?? ""}`),
    onUpdate: (o, old) => events.push(`update ${o.metadata.name}@${old.metadata.resourceVersion ?? ""}->${o.metadata.resourceVersion ?? ""}`),
    onDelete: (o) => events.push(`delete ${o.metadata.name}`),
  };
  return { events, handlers };
}

function newCache(server: FakeServer, extra: { resyncPeriodMs?: number; labelSelector?: string } = {}) {
  const controller = new AbortController();
  controllers.push(controller);
  const { logger, entries } = capturingLogger();
  const cache = createListWatchCache<Obj>({ kubeConfig: server.kubeConfig, path: "/api/v1/namespaces/ns/configmaps", logger, signal: controller.signal, ...extra });
  return { cache, controller, entries };
}

const WARN = 40;

describe("createListWatchCache against a fake API server", () => {
  it("pages the list, resumes from bookmarks, relists on 410 (event and HTTP) and delivers the diff", async () => {
    const server = await fakeApiServer([
      listAnswer([obj("a", "1"), obj("b", "1")], "10", "page-2"),
      listAnswer([obj("c", "1")], "10"),
      watchAnswer(
        [
          { type: "MODIFIED", object: obj("a", "11") },
          { type: "BOOKMARK", object: { metadata: { resourceVersion: "12" } } },
        ],
        "close",
      ),
      watchAnswer([{ type: "ERROR", object: { kind: "Status", code: 410, reason: "Expired", message: "too old resource version" } }], "hold"),
      listAnswer([obj("a", "11"), obj("b", "13"), obj("d", "14")], "20"),
      statusAnswer(410),
      listAnswer([obj("a", "11"), obj("b", "13"), obj("d", "14")], "21"),
      statusAnswer(500),
      watchAnswer([{ type: "DELETED", object: obj("a", "22") }], "hold"),
    ]);
    const { cache, entries } = newCache(server, { labelSelector: "app=x" });
    const { events, handlers } = recorder();

    expect(cache.synced).toBe(false);
    await cache.start(handlers);
    expect(cache.synced).toBe(true);
    expect(events.slice(0, 3)).toEqual(["add a@1", "add b@1", "add c@1"]);
    // List items get the kind and apiVersion that watch events carry.
    expect(cache.get("ns", "a")).toMatchObject({ kind: "ConfigMap", apiVersion: "v1" });

    await vi.waitFor(() => { expect(events).toContain("delete a"); }, { timeout: 10_000 });
    expect(events).toEqual(["add a@1", "add b@1", "add c@1", "update a@1->11", "add d@14", "update b@1->13", "delete c", "delete a"]);
    expect(cache.list().map((o) => o.metadata.name).sort()).toEqual(["b", "d"]);
    expect(cache.get("ns", "a")).toBeUndefined();
    expect(cache.get("ns", "d")?.metadata.resourceVersion).toBe("14");

    const [list1, list2, ...rest] = server.requests;
    expect(list1?.searchParams.get("limit")).toBe("500");
    expect(list1?.searchParams.get("labelSelector")).toBe("app=x");
    expect(list1?.searchParams.has("continue")).toBe(false);
    expect(list2?.searchParams.get("continue")).toBe("page-2");
    const watches = rest.filter((u) => u.searchParams.get("watch") === "true");
    expect(watches.map((u) => u.searchParams.get("resourceVersion"))).toEqual(["10", "12", "20", "21", "21"]);
    for (const url of watches) {
      expect(url.searchParams.get("allowWatchBookmarks")).toBe("true");
      expect(url.searchParams.get("labelSelector")).toBe("app=x");
      expect(Number(url.searchParams.get("timeoutSeconds"))).toBeGreaterThanOrEqual(20);
      expect(Number(url.searchParams.get("timeoutSeconds"))).toBeLessThan(26);
    }
    // An expired resourceVersion is routine (info); a 410 for the version just listed is odd and backs off, like the 500.
    expect(entries.filter((e) => e.msg.includes("410")).map((e) => e.msg)).toEqual(["watch resourceVersion expired (410); relisting"]);
    expect(entries.filter((e) => e.level === WARN).map((e) => e.msg)).toEqual(["watch failed; retrying", "watch failed; retrying"]);
  });

  it("retries a failing initial list (5xx, 403, bad JSON, not a list) until it succeeds", async () => {
    const server = await fakeApiServer([
      statusAnswer(503),
      statusAnswer(403),
      (res) => {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end("{not json");
      },
      (res) => {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ kind: "Status" }));
      },
      listAnswer([obj("a", "1")], "5"),
    ]);
    const { cache, entries } = newCache(server);
    const { events, handlers } = recorder();
    await cache.start(handlers);
    expect(events).toEqual(["add a@1"]);
    expect(entries.filter((e) => e.level === WARN).map((e) => e.msg)).toEqual(Array<string>(4).fill("list failed; retrying"));
  });

  it("treats a non-410 ERROR event as a failure and resumes from the last resourceVersion", async () => {
    const server = await fakeApiServer([
      listAnswer([], "5"),
      watchAnswer(
        [
          { type: "ADDED", object: obj("a", "6") },
          { type: "ERROR", object: { kind: "Status", code: 500, message: "internal error" } },
        ],
        "hold",
      ),
      watchAnswer([{ type: "MODIFIED", object: obj("a", "7") }], "hold"),
    ]);
    const { cache, entries } = newCache(server);
    const { events, handlers } = recorder();
    await cache.start(handlers);
    await vi.waitFor(() => { expect(events).toEqual(["add a@6", "update a@6->7"]); }, { timeout: 5_000 });
    const watches = server.requests.filter((u) => u.searchParams.get("watch") === "true");
    expect(watches.map((u) => u.searchParams.get("resourceVersion"))).toEqual(["5", "6"]);
    expect(entries.some((e) => e.level === WARN && e.msg === "watch failed; retrying")).toBe(true);
  });

  it("backs off, growing, when every watch straight after a list answers 410", async () => {
    const steps: Step[] = [];
    for (let i = 0; i < 4; i++) steps.push(listAnswer([obj("a", "1")], String(10 + i)), statusAnswer(410));
    const server = await fakeApiServer(steps);
    const { cache, entries } = newCache(server);
    const { events, handlers } = recorder();
    await cache.start(handlers);
    const failureCounts = () => entries.filter((e) => e.level === WARN).map((e) => (e as { failures?: number }).failures);
    await vi.waitFor(() => {
      expect(failureCounts()).toEqual([1, 2, 3, 4]);
    }, { timeout: 5_000 });
    // Unchanged relists deliver nothing new.
    expect(events).toEqual(["add a@1"]);
  });

  it("logs handler exceptions and keeps going", async () => {
    const server = await fakeApiServer([
      listAnswer([obj("a", "1"), obj("b", "1")], "5"),
      watchAnswer([{ type: "ADDED", object: obj("c", "6") }], "hold"),
    ]);
    const { cache, entries } = newCache(server);
    const seen: string[] = [];
    await cache.start({
      onAdd: (o) => {
        seen.push(o.metadata.name);
        throw new Error(`boom ${o.metadata.name}`);
      },
    });
    await vi.waitFor(() => { expect(seen).toEqual(["a", "b", "c"]); }, { timeout: 5_000 });
    expect(entries.filter((e) => e.msg === "list-watch cache handler failed")).toHaveLength(3);
    expect(cache.list()).toHaveLength(3);
  });

  it("re-delivers every cached object as an update each resync period", async () => {
    const server = await fakeApiServer([listAnswer([obj("a", "1")], "5")]);
    const { cache } = newCache(server, { resyncPeriodMs: 50 });
    const { events, handlers } = recorder();
    await cache.start(handlers);
    await vi.waitFor(() => { expect(events.filter((e) => e === "update a@1->1").length).toBeGreaterThanOrEqual(2); }, { timeout: 5_000 });
  });

  it("rejects start() when aborted before the first list, and closes the watch when aborted later", async () => {
    const failing = await fakeApiServer(Array<Step>(100).fill(statusAnswer(500)));
    const first = newCache(failing);
    const starting = first.cache.start({});
    await vi.waitFor(() => { expect(failing.requests.length).toBeGreaterThanOrEqual(2); }, { timeout: 5_000 });
    first.controller.abort(new Error("stop now"));
    await expect(starting).rejects.toThrow("stop now");
    const requestsAtAbort = failing.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(failing.requests.length).toBe(requestsAtAbort);

    const healthy = await fakeApiServer([listAnswer([], "5")]);
    const second = newCache(healthy);
    await second.cache.start({});
    await vi.waitFor(() => { expect(healthy.openWatches()).toBe(1); }, { timeout: 5_000 });
    second.controller.abort();
    await vi.waitFor(() => { expect(healthy.openWatches()).toBe(0); }, { timeout: 5_000 });
    await expect(second.cache.start({})).rejects.toThrow("already started");
  });
});
