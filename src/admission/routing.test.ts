import { describe, expect, it } from "vitest";
import { pathOf, routeRequest } from "./routing.ts";

const handlers = new Map([["/validate-vmi", "vmi handler"]]);

describe("pathOf", () => {
  it("drops the query string the API server appends", () => {
    expect(pathOf("/validate-vmi?timeout=10s")).toBe("/validate-vmi");
    expect(pathOf("/validate-vmi")).toBe("/validate-vmi");
  });

  it("treats a missing or empty URL as the root", () => {
    expect(pathOf(undefined)).toBe("/");
    expect(pathOf("?x=1")).toBe("/");
  });
});

describe("routeRequest", () => {
  it("sends POSTs on a handler path to review, whatever the query", () => {
    expect(routeRequest("POST", "/validate-vmi?timeout=10s", handlers)).toEqual({ kind: "review", path: "/validate-vmi", handler: "vmi handler" });
  });

  it("allows only POST on handler paths", () => {
    expect(routeRequest("GET", "/validate-vmi", handlers)).toEqual({ kind: "method-not-allowed", path: "/validate-vmi", allow: "POST" });
  });

  it("answers health checks on GET only", () => {
    expect(routeRequest("GET", "/healthz", handlers)).toEqual({ kind: "health" });
    expect(routeRequest("POST", "/healthz", handlers)).toEqual({ kind: "method-not-allowed", path: "/healthz", allow: "GET" });
  });

  it("does not know other paths, whatever the method", () => {
    expect(routeRequest("POST", "/mutate", handlers)).toEqual({ kind: "not-found", path: "/mutate" });
    expect(routeRequest("GET", "/", handlers)).toEqual({ kind: "not-found", path: "/" });
  });
});
