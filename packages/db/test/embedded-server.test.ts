import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type DbHandle } from "../src/client";
import { startEmbeddedServer, type EmbeddedServer } from "../src/embedded-server";
import { enqueueJob, getJob } from "../src/queries/jobs";
import { getSchemeByKey } from "../src/queries/schemes";
import { embeddedServerFile, ensurePrivateDir, findEmbeddedServerUrl, readOrCreateSecretFile } from "../src/runtime-config";
import { seedBuiltInSchemes } from "../src/seed/seed-schemes";

describe("embedded database server (PGlite over the PostgreSQL protocol)", () => {
  let dir: string;
  let server: EmbeddedServer;
  let port: number;
  const password = "embedded-test-" + Math.random().toString(36).slice(2);
  const clients: DbHandle[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "hemaloop-embedded-"));
    chmodSync(dir, 0o755); // a data dir left world-readable by an earlier version
    port = 20_000 + Math.floor(Math.random() * 20_000);
    server = await startEmbeddedServer({
      dataDir: dir,
      pgliteDir: path.join(dir, "pglite"),
      port,
      password,
      prepare: (h) => seedBuiltInSchemes(h.db),
    });
    for (let i = 0; i < 3; i++) clients.push(await createDb({ url: server.url, maxConnections: 4 }));
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("advertises its URL to other processes while running", () => {
    expect(findEmbeddedServerUrl(dir)).toBe(server.url);
  });

  it("keeps the data dir and the advertised URL (it holds the password) owner-only", () => {
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(embeddedServerFile(dir)).mode & 0o777).toBe(0o600);
    expect(new URL(server.url).password).toBe(password);
  });

  it("refuses a client without the password or with a wrong one", async () => {
    const withUrl = (pw: string | undefined) => {
      const url = new URL(server.url);
      url.password = pw ?? "";
      return postgres(url.toString(), { max: 1, connect_timeout: 5, onnotice: () => {} });
    };
    for (const pw of [undefined, "wrong-password", password.slice(0, -1)]) {
      const sql = withUrl(pw);
      try {
        await expect(sql`select 1 as one`).rejects.toMatchObject({ code: "28P01" });
      } finally {
        await sql.end({ timeout: 1 });
      }
    }
    const sql = withUrl(password);
    try {
      expect(await sql`select count(*)::int as n from class_scheme`).toEqual([{ n: expect.any(Number) }]);
    } finally {
      await sql.end({ timeout: 1 });
    }
  });

  it("drops a raw connection that sends garbage instead of a startup message", async () => {
    const { createConnection } = await import("node:net");
    const closed = await new Promise<string>((resolve) => {
      const socket = createConnection({ host: "127.0.0.1", port }, () => socket.write(Buffer.from([0, 0, 0, 8, 0, 0, 0, 0, 0x51])));
      let reply = "";
      socket.on("data", (d) => (reply += d.toString("latin1")));
      socket.on("close", () => resolve(reply));
    });
    expect(closed).toMatch(/^E.*unsupported frontend protocol/s);
  });

  it("keeps concurrent parameterised queries from several connections apart", async () => {
    // Mixed statement shapes with different parameter counts: interleaved Bind messages would fail.
    const work = Array.from({ length: 120 }, async (_, i) => {
      const db = clients[i % clients.length]!.db;
      if (i % 3 === 0) {
        const created = await enqueueJob(db, { type: "predict", payload: { i }, priority: i });
        return (await getJob(db, created.id)).payload;
      }
      const scheme = await getSchemeByKey(db, i % 2 ? "pbc-8" : "wbc-5");
      return { i, classes: scheme.classes.length };
    });
    const results = await Promise.all(work);
    results.forEach((r, i) => {
      if (i % 3 === 0) expect(r).toEqual({ i });
      else expect(r).toEqual({ i, classes: i % 2 ? 8 : 5 });
    });
  });

  it("runs transactions from two connections without mixing them", async () => {
    const [a, b] = [clients[0]!.db, clients[1]!.db];
    const run = (db: typeof a, tag: string) =>
      db.transaction(async (tx) => {
        const j = await enqueueJob(tx, { type: "evaluate", payload: { tag } });
        await new Promise((r) => setTimeout(r, 20));
        return (await getJob(tx, j.id)).payload;
      });
    expect(await Promise.all([run(a, "a"), run(b, "b"), run(a, "a2")])).toEqual([{ tag: "a" }, { tag: "b" }, { tag: "a2" }]);
  });
});

describe("owner-only data dir and secret files", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "hemaloop-private-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("creates the data dir 0700 and tightens an existing one with looser bits", () => {
    const fresh = path.join(dir, "a", ".data");
    ensurePrivateDir(fresh);
    expect(statSync(fresh).mode & 0o777).toBe(0o700);
    const loose = path.join(dir, "loose");
    mkdirSync(loose, { mode: 0o777 });
    chmodSync(loose, 0o777);
    ensurePrivateDir(loose);
    expect(statSync(loose).mode & 0o777).toBe(0o700);
  });

  it("generates a secret once (0600), then reads the same one back", () => {
    const file = path.join(dir, "secrets", "auth-secret");
    expect(existsSync(file)).toBe(false);
    const first = readOrCreateSecretFile(file);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(readOrCreateSecretFile(file)).toBe(first);
    const other = readOrCreateSecretFile(path.join(dir, "secrets", "db-password"));
    expect(other).not.toBe(first);
  });

  it("tightens a readable secret file and replaces one too short to be a secret", () => {
    const file = path.join(dir, "old-secret");
    writeFileSync(file, "x".repeat(43), { mode: 0o644 });
    chmodSync(file, 0o644);
    expect(readOrCreateSecretFile(file)).toBe("x".repeat(43));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    writeFileSync(file, "short");
    const replaced = readOrCreateSecretFile(file);
    expect(replaced).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(file, "utf8").trim()).toBe(replaced);
  });
});
