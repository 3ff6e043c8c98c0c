import type { Logger } from "pino";
import { Registry, collectDefaultMetrics } from "prom-client";
import { startAdmissionServer } from "../src/admission/server.ts";
import { DEFAULT_METRICS_PREFIX } from "../src/api/metric-names.ts";
import { startOpsServer } from "../src/util/ops-server.ts";
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

/** The mutating admission webhook: HTTPS for the API server, plain HTTP for probes and metrics. */
export async function startWebhook(options: WebhookOptions): Promise<RunningWebhook> {
  const { logger } = options;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: DEFAULT_METRICS_PREFIX.webhook });
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
  const ops = await startOpsServer({
    host: options.opsHost,
    port: options.opsPort,
    registry,
    notReady: () => (ready ? undefined : "shutting down"),
    logger,
  });
  logger.info({ port: admission.port, opsPort: ops.port }, "webhook serving");

  return {
    port: admission.port,
    opsPort: ops.port,
    async stop() {
      ready = false;
      stopWatching();
      await admission.close();
      await ops.close();
    },
  };
}
