import { request as httpRequest } from "node:http";
import { request } from "node:https";

export interface ClientTls {
  readonly caPem: string;
  readonly certPem?: string;
  readonly keyPem?: string;
}

/** GETs a URL and returns its status, or undefined if nothing answered. */
export function probeHttps(url: string, tls: ClientTls, timeoutMs = 2_000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request(url, { ca: tls.caPem, cert: tls.certPem, key: tls.keyPem, timeout: timeoutMs, rejectUnauthorized: true }, (res) => {
      res.resume();
      res.on("end", () => {
        resolve(res.statusCode);
      });
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => {
      resolve(undefined);
    });
    req.end();
  });
}

/** Plain-HTTP variant for components that serve health on loopback without TLS. */
export function probeHttp(url: string, timeoutMs = 2_000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { timeout: timeoutMs }, (res) => {
      res.resume();
      res.on("end", () => {
        resolve(res.statusCode);
      });
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => {
      resolve(undefined);
    });
    req.end();
  });
}
