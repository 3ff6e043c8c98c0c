import * as http from "node:http";
import * as https from "node:https";
import { Watch, type KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { httpStatusOf, KubeHttpError } from "./errors.ts";
import { isRecord } from "../util/guards.ts";

/** Anything the API serves; only the metadata the cache needs is assumed. */
export interface CachedObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; uid?: string };
}

export interface ListWatchCacheOptions<T> {
  readonly kubeConfig: KubeConfig;
  /** Collection path, e.g. /api/v1/pods, /api/v1/namespaces/x/secrets or /apis/kubevirt.io/v1/namespaces/vms/virtualmachineinstances */
  readonly path: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Re-deliver every cached object as an update this often (default 5 min; 0 turns it off). Handlers must be idempotent. */
  readonly resyncPeriodMs?: number;
  readonly logger: Logger;
  /** Aborting stops the cache for good. */
  readonly signal: AbortSignal;
  /** Applied to every object before it is stored and delivered, e.g. to drop managedFields and save memory. */
  readonly transform?: (obj: T) => T;
}

export interface CacheHandlers<T> {
  onAdd?(obj: T): void;
  onUpdate?(obj: T, old: T): void;
  onDelete?(obj: T): void;
}

export interface ListWatchCache<T> {
  /**
   * Lists, then keeps watching until the signal aborts. Resolves after the
   * first successful list (every listed object has been delivered to onAdd);
   * rejects with the signal's reason if the signal aborts before that. Call once.
   */
  start(handlers: CacheHandlers<T>): Promise<void>;
  /** Cluster-scoped objects: namespace undefined (or ""). */
  get(namespace: string | undefined, name: string): T | undefined;
  list(): T[];
  readonly synced: boolean;
}

export const DEFAULT_RESYNC_PERIOD_MS = 5 * 60_000;
export const PAGE_LIMIT = 500;
const BACKOFF_BASE_MS = 200;
const BACKOFF_CAP_MS = 30_000;
const LIST_TIMEOUT_MS = 60_000;
/**
 * client-node's Watch aborts a stream after 30 s without a line, and that is our
 * stall detector; so ask the server to end each watch cleanly before then and
 * resume from the last resourceVersion (bookmarks keep it fresh).
 */
const WATCH_SECONDS = { min: 20, spread: 5 } as const;
/** A watch that ends cleanly, without a single line, sooner than this is treated as a failure (no hot loop). */
const MIN_HEALTHY_WATCH_MS = 1_000;

/** The store key: `namespace/name`, or `name` for cluster-scoped objects; undefined without a name. */
export function cacheKeyOf(obj: CachedObject): string | undefined {
  const name = obj.metadata?.name;
  if (!name) return undefined;
  const namespace = obj.metadata?.namespace;
  return namespace ? `${namespace}/${name}` : name;
}

export interface RelistDiff<T> {
  readonly added: T[];
  readonly updated: { readonly object: T; readonly old: T }[];
  readonly deleted: T[];
}

/**
 * What changed between the store and a fresh listing: new keys are adds, a key
 * whose resourceVersion changed is an update, keys that vanished are deletes. An
 * object replaced under the same name (a different uid) is a delete of the old
 * plus an add of the new. Objects without a name are ignored.
 */
export function diffRelist<T extends CachedObject>(store: ReadonlyMap<string, T>, listed: readonly T[]): RelistDiff<T> {
  const added: T[] = [];
  const updated: { object: T; old: T }[] = [];
  const deleted: T[] = [];
  const seen = new Set<string>();
  for (const object of listed) {
    const key = cacheKeyOf(object);
    if (key === undefined || seen.has(key)) continue;
    seen.add(key);
    const old = store.get(key);
    if (old === undefined) {
      added.push(object);
    } else if (old.metadata?.uid && object.metadata?.uid && old.metadata.uid !== object.metadata.uid) {
      deleted.push(old);
      added.push(object);
    } else {
      const rv = object.metadata?.resourceVersion;
      if (rv === undefined || rv !== old.metadata?.resourceVersion) updated.push({ object, old });
    }
  }
  for (const [key, old] of store) if (!seen.has(key)) deleted.push(old);
  return { added, updated, deleted };
}

/** Delay before retry number `attempt` (1-based): exponential from 200 ms, capped at 30 s, jittered into [½, 1] of that. */
export function backoffDelayMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling * (0.5 + random() / 2));
}

interface ListPage<T> {
  readonly items: T[];
  readonly resourceVersion: string;
  readonly continueToken: string | undefined;
}

interface WatchOutcome {
  readonly kind: "closed" | "gone" | "failed";
  readonly error?: unknown;
  readonly lines: number;
}


function statusMessage(body: string): string {
  try {
    const parsed: unknown = JSON.parse(body);
    if (isRecord(parsed) && typeof parsed.message === "string") return parsed.message;
  } catch {
    // not a Status
  }
  return body.slice(0, 200);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** GET a JSON document with the kubeconfig's TLS and credentials; plain JSON, no model deserialisation. */
async function getJson(kubeConfig: KubeConfig, url: URL, signal: AbortSignal): Promise<unknown> {
  const options: https.RequestOptions = { method: "GET", headers: { Accept: "application/json" } };
  await kubeConfig.applyToHTTPSOptions(options);
  const request = url.protocol === "http:" ? http.request : https.request;
  return new Promise((resolve, reject) => {
    const req = request(url, { ...options, signal, timeout: LIST_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          reject(new KubeHttpError(status, `GET ${url.pathname}: ${status} ${statusMessage(body)}`));
          return;
        }
        try {
          resolve(JSON.parse(body));
        } catch (error) {
          reject(new Error(`GET ${url.pathname}: invalid JSON`, { cause: error }));
        }
      });
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url.pathname}: no answer in ${LIST_TIMEOUT_MS} ms`)));
    req.on("error", reject);
    req.end();
  });
}

/**
 * A list-watch cache that never gives up: the initial list and every watch are
 * retried after any error with jittered exponential backoff until the signal
 * aborts; a watch resumes from the last resourceVersion it saw (bookmarks
 * included); a 410 Gone relists and delivers the difference to the handlers.
 * Handler exceptions are logged, not propagated.
 */
export function createListWatchCache<T extends CachedObject>(options: ListWatchCacheOptions<T>): ListWatchCache<T> {
  const { kubeConfig, path, signal } = options;
  const logger = options.logger.child({ path, ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}) });
  const resyncPeriodMs = options.resyncPeriodMs ?? DEFAULT_RESYNC_PERIOD_MS;
  const watch = new Watch(kubeConfig);
  const stopped = () => signal.aborted;
  const transform = options.transform ?? ((object: T) => object);
  let store = new Map<string, T>();
  let resourceVersion: string | undefined;
  let synced = false;
  let started = false;
  let handlers: CacheHandlers<T> = {};

  const deliver = (what: string, object: T, call: () => void) => {
    try {
      call();
    } catch (error) {
      logger.error({ err: error, event: what, key: cacheKeyOf(object) }, "list-watch cache handler failed");
    }
  };
  const deliverAdd = (object: T) => {
    deliver("add", object, () => handlers.onAdd?.(object));
  };
  const deliverUpdate = (object: T, old: T) => {
    deliver("update", object, () => handlers.onUpdate?.(object, old));
  };
  const deliverDelete = (object: T) => {
    deliver("delete", object, () => handlers.onDelete?.(object));
  };

  async function listPage(continueToken: string | undefined): Promise<ListPage<T>> {
    // Like client-node's Watch: the server URL may carry a path prefix (proxies, Rancher).
    const url = new URL(`${kubeConfig.getCurrentCluster()?.server ?? ""}${path}`);
    url.searchParams.set("limit", String(PAGE_LIMIT));
    if (options.labelSelector) url.searchParams.set("labelSelector", options.labelSelector);
    if (options.fieldSelector) url.searchParams.set("fieldSelector", options.fieldSelector);
    if (continueToken) url.searchParams.set("continue", continueToken);
    const body = await getJson(kubeConfig, url, signal);
    if (!isRecord(body) || !Array.isArray(body.items) || !isRecord(body.metadata) || typeof body.metadata.resourceVersion !== "string") {
      throw new Error(`GET ${path}: not a list`);
    }
    // List items carry no kind/apiVersion; watch events do. Make them alike.
    const kind = typeof body.kind === "string" && body.kind.endsWith("List") ? body.kind.slice(0, -4) : undefined;
    const items = body.items.filter(isRecord).map((item) => (kind && item.kind === undefined ? { kind, apiVersion: body.apiVersion, ...item } : item));
    const next = body.metadata.continue;
    return { items: (items as T[]).map(transform), resourceVersion: body.metadata.resourceVersion, continueToken: typeof next === "string" && next ? next : undefined };
  }

  /** Lists every page (an expired continue token fails the whole list), replaces the store and delivers the difference. */
  async function relist(): Promise<void> {
    const items: T[] = [];
    let page = await listPage(undefined);
    items.push(...page.items);
    while (page.continueToken) {
      page = await listPage(page.continueToken);
      items.push(...page.items);
    }
    if (stopped()) return;
    const diff = diffRelist(store, items);
    const next = new Map<string, T>();
    for (const item of items) {
      const key = cacheKeyOf(item);
      if (key !== undefined) next.set(key, item);
    }
    store = next;
    resourceVersion = page.resourceVersion;
    logger.debug(
      { objects: next.size, added: diff.added.length, updated: diff.updated.length, deleted: diff.deleted.length, resourceVersion },
      "listed",
    );
    for (const object of diff.added) deliverAdd(object);
    for (const { object, old } of diff.updated) deliverUpdate(object, old);
    for (const object of diff.deleted) deliverDelete(object);
  }

  function applyEvent(type: string, object: T): void {
    const key = cacheKeyOf(object);
    if (key === undefined) {
      logger.warn({ type }, "watch event for an object without a name; ignored");
      return;
    }
    const old = store.get(key);
    if (type === "DELETED") {
      store.delete(key);
      deliverDelete(object);
      return;
    }
    store.set(key, object);
    if (old === undefined) deliverAdd(object);
    else deliverUpdate(object, old);
  }

  /** One watch request, from `resourceVersion`, until the server closes it or something fails. */
  async function watchOnce(): Promise<WatchOutcome> {
    // Written by callbacks: an object so that control-flow analysis does not assume the initial values.
    const state: { lines: number; finished: boolean; gone: boolean; failure?: unknown; controller?: AbortController } = {
      lines: 0,
      finished: false,
      gone: false,
    };
    const onLine = (type: string, object: unknown) => {
      if (state.finished || stopped()) return;
      try {
        if (!isRecord(object)) throw new Error(`watch event ${type} without an object`);
        if (type === "ERROR") {
          if (object.code === 410) state.gone = true;
          else state.failure = new KubeHttpError(typeof object.code === "number" ? object.code : 0, `watch ERROR event: ${String(object.message)}`);
          state.finished = true;
          state.controller?.abort();
          return;
        }
        state.lines++; // progress: ERROR events do not count
        const rv = isRecord(object.metadata) && typeof object.metadata.resourceVersion === "string" ? object.metadata.resourceVersion : undefined;
        if (type === "ADDED" || type === "MODIFIED" || type === "DELETED") applyEvent(type, transform(object as T));
        else if (type !== "BOOKMARK") logger.warn({ type }, "unknown watch event type; ignored");
        if (rv) resourceVersion = rv;
      } catch (error) {
        logger.error({ err: error, type }, "watch event processing failed");
      }
    };
    const query: Record<string, string | number | boolean> = {
      allowWatchBookmarks: true,
      timeoutSeconds: WATCH_SECONDS.min + Math.floor(Math.random() * WATCH_SECONDS.spread),
    };
    if (resourceVersion) query.resourceVersion = resourceVersion;
    if (options.labelSelector) query.labelSelector = options.labelSelector;
    if (options.fieldSelector) query.fieldSelector = options.fieldSelector;
    let onAbort = () => state.controller?.abort();
    try {
      const error = await new Promise<unknown>((resolve) => {
        // Before the response headers arrive client-node has not handed out the controller yet:
        // stop waiting at once; the request is aborted as soon as the controller arrives.
        onAbort = () => {
          state.controller?.abort();
          resolve(undefined);
        };
        signal.addEventListener("abort", onAbort, { once: true });
        watch.watch(path, query, onLine, resolve).then((c) => {
          state.controller = c;
          if (stopped() || state.finished) c.abort();
        }, resolve);
      });
      state.finished = true;
      const { lines } = state;
      if (state.gone || httpStatusOf(error) === 410) return { kind: "gone", lines };
      if (state.failure !== undefined) return { kind: "failed", error: state.failure, lines };
      if (error) return { kind: "failed", error, lines };
      return { kind: "closed", lines };
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  async function run(onSynced: () => void): Promise<void> {
    let needList = true;
    let justListed = false;
    // Reset only by a watch that made progress, so that a list-then-410 loop backs off too.
    let failures = 0;
    const fail = async (what: string, error: unknown) => {
      failures++;
      const delayMs = backoffDelayMs(failures);
      logger.warn({ err: error, status: httpStatusOf(error), failures, delayMs }, `${what} failed; retrying`);
      await sleep(delayMs, signal);
    };
    while (!stopped()) {
      if (needList) {
        try {
          await relist();
        } catch (error) {
          if (stopped()) return;
          await fail("list", error);
          continue;
        }
        if (stopped()) return;
        needList = false;
        justListed = true;
        if (!synced) {
          synced = true;
          onSynced();
        }
      }
      const startedAt = Date.now();
      const outcome = await watchOnce();
      const afterList = justListed;
      justListed = false;
      if (stopped()) return;
      if (outcome.kind === "gone") {
        needList = true;
        if (afterList && outcome.lines === 0) await fail("watch", new Error(`410 Gone for the resourceVersion ${resourceVersion ?? ""} just listed`));
        else {
          if (outcome.lines > 0) failures = 0;
          logger.info({ resourceVersion }, "watch resourceVersion expired (410); relisting");
        }
      } else if (outcome.kind === "failed") {
        if (outcome.lines > 0) failures = 0;
        await fail("watch", outcome.error);
      } else if (outcome.lines > 0 || Date.now() - startedAt >= MIN_HEALTHY_WATCH_MS) {
        failures = 0;
        logger.debug({ resourceVersion, lines: outcome.lines }, "watch closed; resuming");
      } else {
        await fail("watch", new Error("watch closed at once without events"));
      }
    }
  }

  function resync(): void {
    if (!synced || signal.aborted) return;
    for (const object of [...store.values()]) deliverUpdate(object, object);
  }

  return {
    get synced() {
      return synced;
    },
    get(namespace, name) {
      return store.get(namespace ? `${namespace}/${name}` : name);
    },
    list() {
      return [...store.values()];
    },
    start(given) {
      if (started) return Promise.reject(new Error(`list-watch cache for ${path} already started`));
      started = true;
      handlers = given;
      return new Promise<void>((resolve, reject) => {
        if (signal.aborted) {
          reject(signal.reason as Error);
          return;
        }
        let timer: NodeJS.Timeout | undefined;
        const onAbort = () => {
          clearInterval(timer);
          if (!synced) reject(signal.reason as Error);
        };
        signal.addEventListener("abort", onAbort, { once: true });
        const onSynced = () => {
          if (resyncPeriodMs > 0) {
            timer = setInterval(resync, resyncPeriodMs);
            timer.unref();
          }
          resolve();
        };
        run(onSynced).catch((error: unknown) => {
          // Not expected: run() handles its own errors. Never leave start() hanging.
          logger.error({ err: error }, "list-watch cache loop crashed");
          clearInterval(timer);
          signal.removeEventListener("abort", onAbort);
          reject(error instanceof Error ? error : new Error(String(error)));
        });
      });
    },
  };
}
