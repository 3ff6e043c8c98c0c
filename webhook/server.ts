import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { Registry, collectDefaultMetrics } from "prom-client";
import { startAdmissionServer } from "../src/admission/server.ts";
import { MUTATE_PODS_PATH, podMutationHandler } from "./handler.ts";
import { createWebhookMetrics } from "./metrics.ts";
import type { AdmissionSettings } from "./settings.ts";
import { loadKeyPair, watchKeyPair, type TlsFiles } from "./tls-files.ts";

export interface WebhookOptions {
  readonly settings: AdmissionSettings;
  readonly tls: TlsFiles;
  readonly host: string;
  readonly port: number;
  /** Plain HTTP for /metrics, /healthz and /readyz. */
  readonly opsHost: string;
  readonly opsPort: number;
  readonly certReloadIntervalMs: number;
  readonly logger: Logger;
}

export interface RunningWebhook {
  readonly port: number;
  readonly opsPort: number;
  stop(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** The mutating admission webhook: HTTPS for the API server, plain HTTP for probes and metrics. */
export async function startWebhook(options: WebhookOptions): Promise<RunningWebhook> {
  const { logger } = options;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "maroonedpods_webhook_" });
  const metrics = createWebhookMetrics(registry);
  const keyPair = await loadKeyPair(options.tls);
  const admission = await startAdmissionServer({
    host: options.host,
    port: options.port,
    tls: keyPair,
    handlers: { [MUTATE_PODS_PATH]: podMutationHandler(options.settings) },
    logger,
    onOutcome: (outcome) => {
      metrics.observe(outcome);
    },
  });
  const stopWatching = watchKeyPair({
    files: options.tls,
    initial: keyPair,
    intervalMs: options.certReloadIntervalMs,
    logger,
    onChange: (pair) => {
      admission.setTlsCertificate(pair.certPem, pair.keyPem);
      metrics.certificateReloaded("ok");
    },
    onError: () => {
      metrics.certificateReloaded("error");
    },
  });

  let ready = true;
  const ops = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET") {
      res.writeHead(405, { allow: "GET" }).end();
    } else if (path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    } else if (path === "/readyz") {
      res.writeHead(ready ? 200 : 503, { "content-type": "text/plain" }).end(ready ? "ok" : "shutting down");
    } else if (path === "/metrics") {
      registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
        (error: unknown) => {
          logger.error({ err: error }, "could not render metrics");
          res.writeHead(500).end();
        },
      );
    } else {
      res.writeHead(404).end();
    }
  });
  const opsPort = await listen(ops, options.opsPort, options.opsHost);
  logger.info({ port: admission.port, opsPort }, "webhook serving");

  return {
    port: admission.port,
    opsPort,
    async stop() {
      ready = false;
      stopWatching();
      await admission.close();
      await new Promise<void>((resolve) => ops.close(() => { resolve(); }));
    },
  };
}
