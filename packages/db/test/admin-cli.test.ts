import { spawn } from "node:child_process";
import { and, count, eq } from "drizzle-orm";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb } from "../src/client";
import { countActiveSystemAdmins, createSystemAdmin } from "../src/cli/create-admin";
import { ConflictError, InvalidInputError } from "../src/errors";
import { authenticateUser } from "../src/queries/users";
import { auditEvent, user } from "../src/schema";
import { DEMO_LOGIN } from "../src/seed/seed-demo";
import { repoRoot } from "./fixtures/import-test-files";
import { createTestDb, describeEachDb, type TestDb } from "./helpers/test-db";

describeEachDb("create-admin", (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(kind);
  });
  afterAll(async () => t?.close());

  it("creates a system admin who signs in with the given password, with an audit event", async () => {
    expect(await countActiveSystemAdmins(t.db)).toBe(0);
    const admin = await createSystemAdmin(t.db, { email: " Ada@Example.org ", name: "Ada", password: "correct horse battery" });
    expect(admin).toMatchObject({ email: "ada@example.org", name: "Ada", isSystemAdmin: true });
    expect(await authenticateUser(t.db, "ada@example.org", "correct horse battery")).toEqual(admin);
    expect(await authenticateUser(t.db, "ada@example.org", "wrong password!")).toBeNull();
    const [row] = await t.db.select().from(user).where(eq(user.id, admin.id));
    expect(row!.passwordHash).not.toContain("correct horse"); // stored as a scrypt hash
    const events = await t.db
      .select()
      .from(auditEvent)
      .where(and(eq(auditEvent.entityId, admin.id), eq(auditEvent.action, "user.create-admin")));
    expect(events).toHaveLength(1);
    expect(events[0]!.after).toEqual({ email: "ada@example.org", name: "Ada", isSystemAdmin: true });
    expect(await countActiveSystemAdmins(t.db)).toBe(1);
  });

  it("refuses a duplicate email (any case) and changes nothing", async () => {
    const before = await t.db.select().from(user).where(eq(user.email, "ada@example.org"));
    const auditBefore = (await t.db.select({ n: count() }).from(auditEvent))[0]!.n;
    await expect(createSystemAdmin(t.db, { email: "ADA@example.org", name: "Mallory", password: "another long password" })).rejects.toThrow(
      ConflictError,
    );
    expect(await t.db.select().from(user).where(eq(user.email, "ada@example.org"))).toEqual(before);
    expect(await authenticateUser(t.db, "ada@example.org", "another long password")).toBeNull();
    expect((await t.db.select({ n: count() }).from(auditEvent))[0]!.n).toBe(auditBefore);
  });

  it("refuses the published demo addresses and short passwords", async () => {
    await expect(createSystemAdmin(t.db, { email: DEMO_LOGIN.email, name: "x", password: "long enough password" })).rejects.toThrow(
      InvalidInputError,
    );
    await expect(createSystemAdmin(t.db, { email: "bob@example.org", name: "Bob", password: "short" })).rejects.toThrow(/at least 12/);
    expect(await t.db.select().from(user).where(eq(user.email, "bob@example.org"))).toEqual([]);
  });
});

type CliRun = { code: number | null; stdout: string; stderr: string };

function runAdminCli(args: string[], env: Record<string, string>): Promise<CliRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.DATABASE_URL;
  delete childEnv.HEMALOOP_ADMIN_PASSWORD;
  Object.assign(childEnv, env);
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(repoRoot, "node_modules", ".bin", "tsx"), ["packages/db/src/cli/admin-cli.ts", ...args], {
      cwd: repoRoot,
      env: childEnv,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("npm run admin -- create-admin (embedded PGlite data dir)", () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), "hemaloop-admin-cli-"));
  });
  afterAll(async () => rm(tmp, { recursive: true, force: true }));

  it("prints a generated password once that signs in, then refuses the same email", async () => {
    const env = { HEMALOOP_DATA_DIR: path.join(tmp, "data") };
    const first = await runAdminCli(["create-admin", "--email", "lead@example.org", "--name", "First Lead"], env);
    expect(first.stderr).not.toMatch(/error/i);
    expect(first.code).toBe(0);
    const password = /^password: (\S+)$/m.exec(first.stdout)?.[1];
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);

    const again = await runAdminCli(["create-admin", "--email", "LEAD@example.org"], {
      ...env,
      HEMALOOP_ADMIN_PASSWORD: "a different password",
    });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("error: a user with the email lead@example.org already exists; nothing was changed");

    const usage = await runAdminCli(["make-admin", "--email", "x@example.org"], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('error: unknown command "make-admin"');
    expect(usage.stderr).toMatch(/^ {2}create-admin +create a system admin/m);

    // Scripted set-up: a user created and disabled by the same process an operator would run.
    const added = await runAdminCli(["user", "add", "--email", "ann@example.org", "--name", "Ann"], {
      ...env,
      HEMALOOP_USER_PASSWORD: "ann's long password",
    });
    expect(added.stderr).toBe("");
    expect(added.stdout).toContain("created user ann@example.org (Ann)");
    const disabled = await runAdminCli(["user", "disable", "--email", "ann@example.org"], env);
    expect([disabled.code, disabled.stdout.trim()]).toEqual([0, "disabled ann@example.org; their labels and history are kept"]);

    const handle = await createDb({ dataDir: path.join(tmp, "data", "pglite") });
    try {
      expect(await authenticateUser(handle.db, "lead@example.org", password!)).toMatchObject({ name: "First Lead", isSystemAdmin: true });
      expect(await authenticateUser(handle.db, "lead@example.org", "a different password")).toBeNull();
      expect(await authenticateUser(handle.db, "ann@example.org", "ann's long password")).toBeNull();
      const [ann] = await handle.db.select().from(user).where(eq(user.email, "ann@example.org"));
      expect(ann!.disabledAt).toBeInstanceOf(Date);
    } finally {
      await handle.close();
    }
  }, 240_000);
});

describe("npm run admin -- --help", () => {
  it("prints a command's usage without touching a database", async () => {
    const help = await runAdminCli(["user", "disable", "--help"], { HEMALOOP_DATA_DIR: "/nonexistent/never-created" });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("usage: npm run admin -- user disable --email <email>");
    expect(help.stdout).toContain("via: system");
  }, 60_000);
});
