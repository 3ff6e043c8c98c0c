import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { Registry } from "prom-client";

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Plain HTTP for probes and scraping: /healthz (alive), /readyz (the caller's
 * `notReady` returns why not, or undefined when ready) and /metrics.
 */
export async function startOpsServer(options: {
  host: string;
  port: number;
  registry: Registry;
  notReady: () => string | undefined;
  logger: Logger;
}): Promise<OpsServer> {
  const { registry, logger } = options;
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET") {
      res.writeHead(405, { allow: "GET" }).end();
    } else if (path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    } else if (path === "/readyz") {
      const reason = options.notReady();
      res.writeHead(reason === undefined ? 200 : 503, { "content-type": "text/plain" }).end(reason ?? "ok");
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
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => { resolve(); })),
  };
}
