import { CoreV1Api, KubeConfig, PatchStrategy, RbacAuthorizationV1Api, setHeaderOptions, type V1ConfigMap } from "@kubernetes/client-node";
import { pino, type Logger } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createListWatchCache, type CacheHandlers, type ListWatchCache } from "../src/kube/list-watch-cache.ts";
import { adminKubeConfig, createNamespace } from "./support/kube.ts";

interface LogEntry {
  level: number;
  msg: string;
  status?: number;
}
const WARN = 40;

function capturingLogger(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => entries.push(JSON.parse(line) as LogEntry) });
  return { logger, entries };
}

function recorder() {
  const events: string[] = [];
  const handlers: CacheHandlers<V1ConfigMap> = {
    onAdd: (cm) => events.push(`add ${cm.metadata?.name ?? ""}`),
    onUpdate: (cm, old) => {
      // Resyncs (same resourceVersion) are not interesting here.
      if (cm.metadata?.resourceVersion !== old.metadata?.resourceVersion) events.push(`update ${cm.metadata?.name ?? ""} ${JSON.stringify(cm.data ?? {})}`);
    },
    onDelete: (cm) => events.push(`delete ${cm.metadata?.name ?? ""}`),
  };
  return { events, handlers };
}

const controllers: AbortController[] = [];
afterEach(() => {
  for (const controller of controllers.splice(0)) controller.abort();
});

function startCache(kubeConfig: KubeConfig, namespace: string, extra: { labelSelector?: string; fieldSelector?: string } = {}) {
  const controller = new AbortController();
  controllers.push(controller);
  const { logger, entries } = capturingLogger();
  const cache: ListWatchCache<V1ConfigMap> = createListWatchCache<V1ConfigMap>({
    kubeConfig,
    path: `/api/v1/namespaces/${namespace}/configmaps`,
    logger,
    signal: controller.signal,
    ...extra,
  });
  const { events, handlers } = recorder();
  const started = cache.start(handlers);
  return { cache, controller, entries, events, started };
}

/** The same cluster as `admin`, authenticating with a bearer token. */
function tokenKubeConfig(admin: KubeConfig, token: string): KubeConfig {
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error("admin kubeconfig without a cluster");
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [cluster],
    users: [{ name: "token-user", token }],
    contexts: [{ name: "token", cluster: cluster.name, user: "token-user" }],
    currentContext: "token",
  });
  return kubeConfig;
}

const configMaps = (kubeConfig: KubeConfig, namespace: string) => {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  return {
    create: (name: string, labels: Record<string, string> = {}, data: Record<string, string> = {}) =>
      api.createNamespacedConfigMap({ namespace, body: { metadata: { name, labels }, data } }),
    patch: (name: string, patch: object) =>
      api.patchNamespacedConfigMap({ namespace, name, body: patch }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch)),
    delete: (name: string) => api.deleteNamespacedConfigMap({ namespace, name }),
  };
};

const names = (cache: ListWatchCache<V1ConfigMap>): string[] =>
  cache
    .list()
    .map((cm) => cm.metadata?.name ?? "")
    .sort();

const waitFor = (assertion: () => void, timeout = 10_000) => vi.waitFor(assertion, { timeout, interval: 50 });

describe("list-watch cache against the real API server", () => {
  it("delivers the initial list, then adds, updates and deletes; get and list follow", async () => {
    const admin = adminKubeConfig();
    const namespace = await createNamespace(admin, "lwc");
    const cms = configMaps(admin, namespace);
    await cms.create("a", { suite: "lwc" }, { v: "1" });
    await cms.create("b", { suite: "lwc" }, { v: "1" });

    // The selector keeps kube-root-ca.crt (published into every namespace) out.
    const { cache, events, entries, started } = startCache(admin, namespace, { labelSelector: "suite=lwc" });
    await started;
    expect(cache.synced).toBe(true);
    expect([...events].sort()).toEqual(["add a", "add b"]);
    expect(cache.get(namespace, "a")?.data).toEqual({ v: "1" });
    expect(cache.get(namespace, "a")?.kind).toBe("ConfigMap");

    await cms.create("c", { suite: "lwc" });
    await waitFor(() => {
      expect(events).toContain("add c");
    });
    await cms.patch("a", { data: { v: "2" } });
    await waitFor(() => {
      expect(events).toContain('update a {"v":"2"}');
    });
    await cms.delete("b");
    await waitFor(() => {
      expect(events).toContain("delete b");
    });

    expect(events.slice(2)).toEqual(["add c", 'update a {"v":"2"}', "delete b"]);
    expect(names(cache)).toEqual(["a", "c"]);
    expect(cache.get(namespace, "a")?.data).toEqual({ v: "2" });
    expect(cache.get(namespace, "b")).toBeUndefined();
    expect(cache.get(undefined, "a")).toBeUndefined();
    expect(entries.filter((e) => e.level >= WARN)).toEqual([]);
  });

  it("pages a large list and honours a field selector", async () => {
    const admin = adminKubeConfig();
    const namespace = await createNamespace(admin, "lwc-page");
    const cms = configMaps(admin, namespace);
    const count = 520; // more than one page of 500
    for (let start = 0; start < count; start += 40) {
      await Promise.all(Array.from({ length: Math.min(40, count - start) }, (_, i) => cms.create(`cm-${String(start + i).padStart(4, "0")}`, { suite: "lwc" })));
    }
    const all = startCache(admin, namespace, { labelSelector: "suite=lwc" });
    await all.started;
    expect(all.cache.list()).toHaveLength(count);
    expect(all.events).toHaveLength(count);

    const one = startCache(admin, namespace, { fieldSelector: "metadata.name=cm-0007" });
    await one.started;
    expect(names(one.cache)).toEqual(["cm-0007"]);
    await cms.delete("cm-0007");
    await waitFor(() => {
      expect(one.events).toEqual(["add cm-0007", "delete cm-0007"]);
    });
  });

  it("delivers an object whose labels stop matching as a delete, and one that starts matching as an add", async () => {
    const admin = adminKubeConfig();
    const namespace = await createNamespace(admin, "lwc-sel");
    const cms = configMaps(admin, namespace);
    await cms.create("x", { tier: "front" });
    await cms.create("y", { tier: "back" });
    const { cache, events, started } = startCache(admin, namespace, { labelSelector: "tier=front" });
    await started;
    expect(events).toEqual(["add x"]);

    await cms.patch("x", { metadata: { labels: { tier: "back" } } });
    await waitFor(() => {
      expect(events).toContain("delete x");
    });
    await cms.patch("y", { metadata: { labels: { tier: "front" } } });
    await waitFor(() => {
      expect(events).toContain("add y");
    });
    expect(events).toEqual(["add x", "delete x", "add y"]);
    expect(names(cache)).toEqual(["y"]);
  });

  it("stops on abort: no more events and the store stays as it was", async () => {
    const admin = adminKubeConfig();
    const namespace = await createNamespace(admin, "lwc-abort");
    const cms = configMaps(admin, namespace);
    const { cache, controller, events, started } = startCache(admin, namespace, { labelSelector: "suite=lwc" });
    await started;
    await cms.create("before", { suite: "lwc" });
    await waitFor(() => {
      expect(events).toEqual(["add before"]);
    });

    controller.abort();
    await cms.create("after", { suite: "lwc" });
    await cms.delete("before");
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(events).toEqual(["add before"]);
    expect(names(cache)).toEqual(["before"]);
    expect(cache.synced).toBe(true);
  });

  it("keeps a watch alive through a quiet period longer than client-node's 30 s stall timeout", { timeout: 90_000 }, async () => {
    const admin = adminKubeConfig();
    const namespace = await createNamespace(admin, "lwc-quiet");
    const cms = configMaps(admin, namespace);
    const { events, entries, started } = startCache(admin, namespace, { labelSelector: "suite=lwc" });
    await started;
    await new Promise((resolve) => setTimeout(resolve, 40_000));
    await cms.create("late", { suite: "lwc" });
    await waitFor(() => {
      expect(events).toEqual(["add late"]);
    }, 5_000);
    // The server ended each watch (timeoutSeconds < 30) before client-node's stall detector fired: no failures.
    expect(entries.filter((e) => e.level >= WARN)).toEqual([]);
    expect(entries.filter((e) => e.msg === "watch closed; resuming").length).toBeGreaterThanOrEqual(1);
  });

  it("keeps retrying with a rejected token (401) without throwing, while a cache with good credentials works", async () => {
    const admin = adminKubeConfig();
    const namespace = await createNamespace(admin, "lwc-401");
    await configMaps(admin, namespace).create("a", { suite: "lwc" });

    const bad = startCache(tokenKubeConfig(admin, "not-a-valid-token"), namespace, { labelSelector: "suite=lwc" });
    const badSettled = bad.started.then(
      () => "resolved",
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    const good = startCache(admin, namespace, { labelSelector: "suite=lwc" });
    await good.started;
    expect(good.events).toEqual(["add a"]);

    await waitFor(() => {
      expect(bad.entries.filter((e) => e.level === WARN && e.status === 401).length).toBeGreaterThanOrEqual(3);
    });
    expect(bad.cache.synced).toBe(false);
    expect(bad.events).toEqual([]);
    bad.controller.abort(new Error("test over"));
    expect(await badSettled).toBe("test over");
  });

  it("recovers when a 403 turns into access: RBAC granted while the cache retries", async () => {
    const admin = adminKubeConfig();
    const namespace = await createNamespace(admin, "lwc-403");
    await configMaps(admin, namespace).create("a", { suite: "lwc" });
    const core = admin.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: "reader" } } });
    const tokenRequest = await core.createNamespacedServiceAccountToken({
      namespace,
      name: "reader",
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const token = tokenRequest.status?.token;
    if (!token) throw new Error("no token issued");

    const cache = startCache(tokenKubeConfig(admin, token), namespace, { labelSelector: "suite=lwc" });
    await waitFor(() => {
      expect(cache.entries.filter((e) => e.level === WARN && e.status === 403).length).toBeGreaterThanOrEqual(2);
    });
    expect(cache.cache.synced).toBe(false);

    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace,
      body: { metadata: { name: "read-configmaps" }, rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] }] },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: "reader-reads-configmaps" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "read-configmaps" },
        subjects: [{ kind: "ServiceAccount", name: "reader", namespace }],
      },
    });
    await cache.started;
    expect(cache.events).toEqual(["add a"]);
    await configMaps(admin, namespace).create("b", { suite: "lwc" });
    await waitFor(() => {
      expect(cache.events).toEqual(["add a", "add b"]);
    });
  });
});
