import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getText } from "./http.ts";

describe("getText", () => {
  let server: Server;
  let base = "";
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === "/silent") return; // never answers: afterAll closes the socket
      if (req.url === "/metrics") res.end("up 1\n");
      else res.writeHead(404).end("no");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it("resolves with the body of a 200", async () => {
    await expect(getText(`${base}/metrics`, 5_000)).resolves.toBe("up 1\n");
  });
  it("rejects any other status", async () => {
    await expect(getText(`${base}/nope`, 5_000)).rejects.toThrow(`GET ${base}/nope: HTTP 404`);
  });
  it("rejects when nothing answers in time", async () => {
    await expect(getText(`${base}/silent`, 100)).rejects.toThrow("no answer within 0.1 s");
  });
});
