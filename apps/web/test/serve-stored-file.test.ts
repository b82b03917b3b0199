import { createLocalStorage, createS3Storage, type Storage } from "@hemaloop/db/storage";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startS3Server, type TestS3Server } from "../../../packages/db/test/helpers/s3-server";
import { serveStoredFile } from "../src/server/files";

const KEY = "thumbs/ab/abcdef.webp";
const BYTES = Buffer.from("0123456789abcdef");

function get(headers: Record<string, string> = {}): Request {
  return new Request(`http://localhost/api/files/${KEY}`, { headers });
}

async function text(response: Response): Promise<string> {
  return Buffer.from(await response.arrayBuffer()).toString();
}

const backends: Array<{ name: string; open: () => Promise<{ storage: Storage; close: () => Promise<void> }> }> = [
  {
    name: "local directory",
    open: async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), "hemaloop-serve-"));
      return { storage: createLocalStorage(dir), close: () => rm(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: "S3 (s3rver)",
    open: async () => {
      const server: TestS3Server = await startS3Server();
      return { storage: createS3Storage(server.storageConfig("web/")), close: () => server.close() };
    },
  },
];

for (const backend of backends) {
  describe(`serveStoredFile from ${backend.name}`, () => {
    let storage: Storage;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ storage, close } = await backend.open());
      await storage.put(KEY, BYTES);
    });
    afterAll(async () => close?.());

    it("streams the whole file with its cache headers, and 304 for a matching ETag", async () => {
      const res = await serveStoredFile(storage, KEY, get());
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("image/webp");
      expect(res.headers.get("cache-control")).toBe("private, max-age=31536000, immutable");
      expect(res.headers.get("content-length")).toBe(String(BYTES.length));
      expect(res.headers.get("accept-ranges")).toBe("bytes");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(await text(res)).toBe(BYTES.toString());
      const etag = res.headers.get("etag")!;
      expect(etag).toMatch(/^"10-[0-9a-f]+"$/);

      const again = await serveStoredFile(storage, KEY, get({ "if-none-match": etag }));
      expect(again.status).toBe(304);
      expect(again.body).toBeNull();
    });

    it("serves one byte range as 206, refuses unsatisfiable ranges with 416", async () => {
      const res = await serveStoredFile(storage, KEY, get({ range: "bytes=2-5" }));
      expect(res.status).toBe(206);
      expect(res.headers.get("content-range")).toBe(`bytes 2-5/${BYTES.length}`);
      expect(res.headers.get("content-length")).toBe("4");
      expect(await text(res)).toBe("2345");

      const suffix = await serveStoredFile(storage, KEY, get({ range: "bytes=-3" }));
      expect(suffix.status).toBe(206);
      expect(await text(suffix)).toBe("def");

      const open = await serveStoredFile(storage, KEY, get({ range: "bytes=14-" }));
      expect(await text(open)).toBe("ef");

      const beyond = await serveStoredFile(storage, KEY, get({ range: "bytes=100-200" }));
      expect(beyond.status).toBe(416);
      expect(beyond.headers.get("content-range")).toBe(`bytes */${BYTES.length}`);
    });

    it("sends the whole file for other units, multi-range or stale If-Range requests", async () => {
      const cases: Record<string, string>[] = [
        { range: "items=0-1" },
        { range: "bytes" },
        { range: "bytes=0-1,5-6" },
        { range: "bytes=0-1", "if-range": '"stale"' },
      ];
      for (const headers of cases) {
        const res = await serveStoredFile(storage, KEY, get(headers));
        expect(res.status, JSON.stringify(headers)).toBe(200);
        expect(await text(res)).toBe(BYTES.toString());
      }
    });

    it("404s a key the database knows but storage lacks", async () => {
      const res = await serveStoredFile(storage, "thumbs/ab/missing.webp", get());
      expect(res.status).toBe(404);
      expect(res.headers.get("cache-control")).toBe("no-store");
    });
  });
}
