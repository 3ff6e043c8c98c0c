export const HEALTH_PATH = "/healthz";

export type Route<Handler> =
  | { readonly kind: "health" }
  | { readonly kind: "review"; readonly path: string; readonly handler: Handler }
  | { readonly kind: "method-not-allowed"; readonly path: string; readonly allow: "GET" | "POST" }
  | { readonly kind: "not-found"; readonly path: string };

/** The URL's path without its query: the API server appends `?timeout=10s` to webhook URLs. */
export function pathOf(url: string | undefined): string {
  const path = (url ?? "/").split("?", 1)[0];
  return path === undefined || path === "" ? "/" : path;
}

export function routeRequest<Handler>(
  method: string | undefined,
  url: string | undefined,
  handlers: ReadonlyMap<string, Handler>,
): Route<Handler> {
  const path = pathOf(url);
  if (path === HEALTH_PATH) return method === "GET" ? { kind: "health" } : { kind: "method-not-allowed", path, allow: "GET" };
  const handler = handlers.get(path);
  if (handler === undefined) return { kind: "not-found", path };
  return method === "POST" ? { kind: "review", path, handler } : { kind: "method-not-allowed", path, allow: "POST" };
}
