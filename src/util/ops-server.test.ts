import { pino } from "pino";
import { Counter, Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { startOpsServer, type OpsServer } from "./ops-server.ts";

describe("ops server", () => {
  let server: OpsServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  it("answers health, readiness with its reason, metrics, and nothing else", async () => {
    const registry = new Registry();
    new Counter({ name: "maroonedpods_test_total", help: "test", registers: [registry] }).inc();
    let reason: string | undefined = "caches not synced";
    server = await startOpsServer({ host: "127.0.0.1", port: 0, registry, notReady: () => reason, logger: pino({ level: "silent" }) });
    const get = async (path: string, method = "GET") => {
      const res = await fetch(`http://127.0.0.1:${server?.port ?? 0}${path}`, { method });
      return { status: res.status, body: await res.text() };
    };
    expect(await get("/healthz")).toEqual({ status: 200, body: "ok" });
    expect(await get("/readyz")).toEqual({ status: 503, body: "caches not synced" });
    reason = undefined;
    expect(await get("/readyz")).toEqual({ status: 200, body: "ok" });
    expect((await get("/metrics")).body).toMatch(/^maroonedpods_test_total 1$/m);
    expect((await get("/elsewhere")).status).toBe(404);
    expect((await get("/healthz", "POST")).status).toBe(405);
  });
});
