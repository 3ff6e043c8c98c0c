import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import { declaresMoreThan, isJsonContentType, nestsDeeperThan, readBodyUpTo } from "./request-body.ts";
import { parseAdmissionReview } from "./review.ts";
import type { AdmissionRequest, AdmissionResponseReview } from "./review.ts";
import { HEALTH_PATH, routeRequest } from "./routing.ts";

/**
 * A review the handler cannot act on (e.g. the wrong kind, an object that does
 * not parse): the server answers 400 with the message instead of 500.
 */
export class InvalidReviewError extends Error {
  override readonly name = "InvalidReviewError";
}

/** How one request ended, for metrics. */
export interface AdmissionOutcome {
  readonly path: string;
  readonly result: "allowed" | "patched" | "denied" | "invalid" | "error";
  readonly seconds: number;
}

/**
 * Builds the answer with `allowed`, `denied` or `patched`; throwing
 * InvalidReviewError makes the server answer 400, anything else 500.
 */
export type AdmissionHandler = (request: AdmissionRequest) => Promise<AdmissionResponseReview> | AdmissionResponseReview;

export interface AdmissionServerOptions {
  readonly host: string;
  /** 0 picks a free port; read it back from `AdmissionServer.port`. */
  readonly port: number;
  readonly tls: { readonly certPem: string; readonly keyPem: string };
  /** Keyed by URL path, e.g. "/validate-vmi". */
  readonly handlers: Readonly<Record<string, AdmissionHandler>>;
  readonly logger: Logger;
  readonly maxBodyBytes?: number;
  /** Deepest nesting of arrays and objects a body may have; deeper ones are answered 400 unparsed. */
  readonly maxNestingDepth?: number;
  /**
   * Longest a request may take to arrive, and longest a connection may sit
   * idle, which includes the time a handler takes. Keep it at least the
   * webhook's timeoutSeconds.
   */
  readonly requestTimeoutMs?: number;
  readonly onOutcome?: (outcome: AdmissionOutcome) => void;
}

export interface AdmissionServer {
  readonly port: number;
  url(path: string): string;
  /** New connections use this certificate; open ones keep the one they shook hands with. */
  setTlsCertificate(certPem: string, keyPem: string): void;
  /** Stops accepting connections and resolves once in-flight reviews are answered. */
  close(): Promise<void>;
}

/** The API server's own limit on a request body is 3 MiB, and it forwards the object inside the review. */
const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;
/**
 * No typed Kubernetes object nests near this deep (a Pod reaches about 12 levels inside its review). Deeper bodies,
 * tens of thousands of levels, made the handlers' structuredClone and JSON Patch diff exhaust the stack (found by
 * test/webhook-fuzz.test.ts): an answer of 500 where the body was simply invalid.
 */
const DEFAULT_MAX_NESTING_DEPTH = 100;
/** The API server's default webhook timeout: it never reads a later answer. */
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/**
 * How long an idle keep-alive connection stays open: longer than the API server's own idle timeout (90 s,
 * client-go's transport default), so the API server always closes first. Node's default (5 s) let the
 * server close a connection just as the API server sent the next review on it; the API server does not
 * retry a POST, so that admission failed ("connection reset by peer", seen in the pipeline benchmark).
 */
export const IDLE_CONNECTION_TIMEOUT_MS = 120_000;

interface ReviewContext {
  readonly path: string;
  readonly handler: AdmissionHandler;
  readonly logger: Logger;
  readonly maxBodyBytes: number;
  readonly maxNestingDepth: number;
  readonly onOutcome: (outcome: AdmissionOutcome) => void;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(json) }).end(json);
}

/** Closes the connection too: the body may be unread, and draining it would let a client keep the server busy. */
function sendError(res: ServerResponse, status: number, message: string): void {
  res.setHeader("connection", "close");
  sendJson(res, status, { error: message });
}

function rejectRequest(res: ServerResponse, logger: Logger, path: string, status: number, reason: string): void {
  logger.warn({ path, status, reason }, "admission request rejected");
  sendError(res, status, reason);
}

async function serveReview(req: IncomingMessage, res: ServerResponse, context: ReviewContext): Promise<void> {
  const { path, handler, logger, maxBodyBytes, maxNestingDepth } = context;
  const started = performance.now();
  const outcome = (result: AdmissionOutcome["result"]) => {
    context.onOutcome({ path, result, seconds: (performance.now() - started) / 1000 });
  };
  const contentType = req.headers["content-type"];
  if (!isJsonContentType(contentType)) {
    rejectRequest(res, logger, path, 415, `Content-Type must be application/json, got ${JSON.stringify(contentType ?? "")}`);
    outcome("invalid");
    return;
  }
  const tooLarge = `body exceeds ${maxBodyBytes} bytes`;
  if (declaresMoreThan(req.headers["content-length"], maxBodyBytes)) {
    rejectRequest(res, logger, path, 413, tooLarge);
    outcome("invalid");
    return;
  }
  const read = await readBodyUpTo(req, maxBodyBytes);
  if (!read.ok) {
    rejectRequest(res, logger, path, 413, tooLarge);
    outcome("invalid");
    return;
  }
  if (nestsDeeperThan(read.body, maxNestingDepth)) {
    rejectRequest(res, logger, path, 400, `body nests deeper than ${maxNestingDepth} levels`);
    outcome("invalid");
    return;
  }
  let body: unknown;
  try {
    body = JSON.parse(read.body.toString("utf8"));
  } catch {
    rejectRequest(res, logger, path, 400, "body is not valid JSON");
    outcome("invalid");
    return;
  }
  const parsed = parseAdmissionReview(body);
  if (!parsed.ok) {
    rejectRequest(res, logger, path, 400, parsed.reason);
    outcome("invalid");
    return;
  }

  const request = parsed.review.request;
  const fields = { uid: request.uid, path, kind: request.kind.kind, namespace: request.namespace, operation: request.operation };
  const durationMs = (): number => Math.round(performance.now() - started);
  // Never answer "allowed" for a failure: a 500 lets the API server apply the webhook's failurePolicy.
  let answer: AdmissionResponseReview;
  try {
    answer = await handler(request);
  } catch (error) {
    if (error instanceof InvalidReviewError) {
      rejectRequest(res, logger, path, 400, error.message);
      outcome("invalid");
      return;
    }
    logger.error({ ...fields, durationMs: durationMs(), err: error }, "admission handler failed");
    sendError(res, 500, "admission handler failed");
    outcome("error");
    return;
  }
  if (answer.response.uid !== request.uid) {
    logger.error({ ...fields, durationMs: durationMs(), answeredUid: answer.response.uid }, "admission handler answered another request's uid");
    sendError(res, 500, "admission handler answered with the wrong uid");
    outcome("error");
    return;
  }
  sendJson(res, 200, answer);
  const { allowed, patch } = answer.response;
  outcome(!allowed ? "denied" : patch !== undefined ? "patched" : "allowed");
  logger.debug({ ...fields, durationMs: durationMs(), allowed, patched: patch !== undefined }, "admission review answered");
}

function urlHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

export async function startAdmissionServer(options: AdmissionServerOptions): Promise<AdmissionServer> {
  if (HEALTH_PATH in options.handlers) throw new Error(`${HEALTH_PATH} is the health check; pick another path for its handler`);
  const { logger } = options;
  const handlers = new Map(Object.entries(options.handlers));
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxNestingDepth = options.maxNestingDepth ?? DEFAULT_MAX_NESTING_DEPTH;
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const onOutcome = options.onOutcome ?? (() => undefined);

  const server = createServer({
    cert: options.tls.certPem,
    key: options.tls.keyPem,
    handshakeTimeout: requestTimeoutMs,
    headersTimeout: requestTimeoutMs,
    requestTimeout: requestTimeoutMs,
    // Node enforces the two timeouts above only on this tick (30 s by default), so it bounds how late they fire.
    connectionsCheckingInterval: Math.min(requestTimeoutMs, 1_000),
  });
  // The idle cut-off is what stops a client that sends headers and then nothing.
  server.setTimeout(requestTimeoutMs);
  server.keepAliveTimeout = IDLE_CONNECTION_TIMEOUT_MS;
  server.on("tlsClientError", (error) => {
    // Usually a caller that does not trust the certificate, e.g. a stale caBundle.
    logger.debug({ err: error }, "TLS handshake with admission client failed");
  });
  server.on("request", (req, res) => {
    const route = routeRequest(req.method, req.url, handlers);
    switch (route.kind) {
      case "health":
        res.writeHead(200, { "content-type": "text/plain" }).end("ok");
        return;
      case "not-found":
        rejectRequest(res, logger, route.path, 404, `no admission handler at ${route.path}`);
        return;
      case "method-not-allowed":
        res.setHeader("allow", route.allow);
        rejectRequest(res, logger, route.path, 405, `${route.path} accepts ${route.allow} only`);
        return;
      case "review":
        serveReview(req, res, { path: route.path, handler: route.handler, logger, maxBodyBytes, maxNestingDepth, onOutcome }).catch((error: unknown) => {
          // The client went away or timed out mid-body, or the answer would not serialise:
          // dropping the connection still never reads as "allowed".
          logger.warn({ path: route.path, err: error }, "admission request failed before an answer");
          res.destroy();
        });
        return;
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  logger.info({ host: options.host, port, paths: [...handlers.keys()] }, "admission server listening");

  return {
    port,
    url: (path) => `https://${urlHost(options.host)}:${port}${path}`,
    setTlsCertificate: (certPem, keyPem) => {
      server.setSecureContext({ cert: certPem, key: keyPem });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => {
          if (error) reject(error);
          else resolve();
        });
      }),
  };
}
