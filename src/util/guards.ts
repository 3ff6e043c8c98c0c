/** A JSON object: not null, not an array. The one type guard every parser of untrusted JSON here uses. */
export const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
