import { get as httpGet, type IncomingMessage } from "node:http";
import { get as httpsGet, type RequestOptions } from "node:https";

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
