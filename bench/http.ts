import { get as httpGet, type IncomingMessage } from "node:http";
import { get as httpsGet, request as httpsRequest, type RequestOptions } from "node:https";

/**
 * GETs `url` and resolves with its body; rejects on any status but 200 or no
 * answer within `timeoutMs`. For https, `options` carries the TLS material
 * (e.g. a kubeconfig's, from applyToHTTPSOptions).
 */
export function getText(url: string, timeoutMs: number, options: RequestOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        if (res.statusCode === 200) resolve(Buffer.concat(chunks).toString("utf8"));
        else reject(new Error(`GET ${url}: HTTP ${String(res.statusCode)}`));
      });
    };
    const req = url.startsWith("https:") ? httpsGet(url, options, onResponse) : httpGet(url, options, onResponse);
    req.on("error", reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs / 1000} s`)));
  });
}

export interface Reply {
  readonly status: number;
  readonly body: string;
}

/**
 * Sends one HTTPS request (`options` names host, port, path, method, headers and the agent) and resolves with
 * whatever status comes back and the body; rejects on a dropped connection or no answer within `timeoutMs`.
 * Without `body` it sends the headers alone: a server that refuses a Content-Length answers before any body.
 */
export function sendHttps(options: RequestOptions, body: Buffer | string | undefined, timeoutMs: number): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
      });
    });
    req.on("error", reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${options.method ?? "GET"} ${options.path ?? "/"}: no answer within ${timeoutMs / 1000} s`)));
    if (body === undefined) req.flushHeaders();
    else req.end(body);
  });
}
