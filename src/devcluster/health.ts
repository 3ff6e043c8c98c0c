import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { ProcessGroup } from "./processes.ts";
import { pollUntil } from "../util/poll.ts";

export interface ClientTls {
  readonly caPem: string;
  readonly certPem?: string;
  readonly keyPem?: string;
}

const PROBE_TIMEOUT_MS = 2_000;

/** GETs a URL (https when `tls` is given) and returns its status, or undefined if nothing answered. */
function probe(url: string, tls: ClientTls | undefined): Promise<number | undefined> {
  return new Promise((resolve) => {
    const onResponse = (res: IncomingMessage) => {
      res.resume();
      res.on("end", () => {
        resolve(res.statusCode);
      });
    };
    const req = tls
      ? httpsRequest(url, { ca: tls.caPem, cert: tls.certPem, key: tls.keyPem, timeout: PROBE_TIMEOUT_MS }, onResponse)
      : httpRequest(url, { timeout: PROBE_TIMEOUT_MS }, onResponse);
    req.on("timeout", () => req.destroy());
    req.on("error", () => {
      resolve(undefined);
    });
    req.end();
  });
}

/** Waits until a component's health endpoint answers 200; fails at once if one of `processes` died. */
export async function waitUntilHealthy(
  url: string,
  options: { tls?: ClientTls; processes: ProcessGroup; timeoutMs: number },
): Promise<void> {
  await pollUntil(url, async () => ((await probe(url, options.tls)) === 200 ? true : undefined), {
    timeoutMs: options.timeoutMs,
    check: () => {
      options.processes.assertRunning();
    },
  });
}
