import { ApiException } from "@kubernetes/client-node";

export function statusCodeOf(error: unknown): number | undefined {
  if (error instanceof ApiException) return error.code;
  if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "number") return error.code;
  return undefined;
}

/** An HTTP error answer from the API server made by our own requests; `code` is what `statusCodeOf` reads. */
export class KubeHttpError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.name = "KubeHttpError";
    this.code = code;
  }
}

/** The HTTP status carried by an error from our requests, client-node's Watch (`statusCode`) or an ERROR watch event. */
export function httpStatusOf(error: unknown): number | undefined {
  const code = statusCodeOf(error);
  if (code !== undefined) return code;
  if (typeof error === "object" && error !== null && "statusCode" in error && typeof error.statusCode === "number") return error.statusCode;
  return undefined;
}

export const isNotFound = (error: unknown): boolean => statusCodeOf(error) === 404;
export const isAlreadyExists = (error: unknown): boolean => statusCodeOf(error) === 409;

/** The API server's own message, when the error carries a Status body. */
export function apiMessageOf(error: unknown): string {
  if (error instanceof ApiException) {
    const body: unknown = typeof error.body === "string" ? safeParse(error.body) : error.body;
    if (typeof body === "object" && body !== null && "message" in body && typeof body.message === "string") return body.message;
  }
  return error instanceof Error ? error.message : String(error);
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
