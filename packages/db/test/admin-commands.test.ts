import { and, eq, isNull } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generalUsage, parseAdminCommandLine, type CommandContext } from "../src/cli/admin-commands";
import { CliError } from "../src/cli/cli-support";
import { authenticateUser } from "../src/queries/users";
import { auditEvent, dataset, membership, project } from "../src/schema";
import { createProjectFixture, type ProjectFixture } from "./helpers/project-fixture";
import { createTestDb, describeEachDb, type TestDb } from "./helpers/test-db";

function usageError(argv: string[]): CliError {
  try {
    parseAdminCommandLine(argv);
  } catch (error) {
    if (error instanceof CliError) return error;
    throw error;
  }
  throw new Error(`no usage error for ${argv.join(" ")}`);
}

describe("admin command line", () => {
  it("prints the overview for --help or no command, and each command's usage for <command> --help", () => {
    expect(parseAdminCommandLine(["--help"])).toEqual({ kind: "help", text: generalUsage() });
    expect(parseAdminCommandLine([])).toEqual({ kind: "help", text: generalUsage() });
    for (const name of ["user add", "user disable", "user enable", "user reset-password", "user make-admin", "institution add"]) {
      expect(generalUsage()).toContain(name);
    }
    for (const name of ["institution add-admin", "project create", "project add-dataset", "member add", "member role", "member remove"]) {
      expect(generalUsage()).toContain(name);
    }
    const help = parseAdminCommandLine(["member", "add", "--help"]);
    expect(help.kind === "help" && help.text).toContain(
      "usage: npm run admin -- member add --project <slug> --email <email> --role <annotator|reviewer|lead|admin>",
    );
  });

  it("refuses unknown commands, unknown or missing options and bad values with exit code 2 and the usage", () => {
    expect(usageError(["user", "delete", "--email", "a@b.org"])).toMatchObject({
      exitCode: 2,
      message: expect.stringContaining('unknown command "user delete"'),
    });
    const missing = usageError(["user", "add", "--email", "a@b.org"]);
    expect(missing.exitCode).toBe(2);
    expect(missing.message).toContain("--name is required");
    expect(missing.message).toContain("usage: npm run admin -- user add --email <email> --name <name>");
    expect(usageError(["user", "disable", "--email", "a@b.org", "--force"]).message).toMatch(/Unknown option '--force'/);
    expect(usageError(["member", "add", "--project", "p", "--email", "a@b.org", "--role", "owner"]).message).toContain(
      "--role must be one of",
    );
    expect(usageError(["user", "disable", "--email", "not-an-email"]).message).toContain("--email must be an email address");
    expect(usageError(["user", "disable", "extra", "--email", "a@b.org"]).message).toContain('unexpected argument "extra"');
  });
});

describeEachDb("admin commands", (kind) => {
  let t: TestDb;
  let f: ProjectFixture;
  const run = async (argv: string[], env: Record<string, string> = {}) => {
    const parsed = parseAdminCommandLine(argv);
    if (parsed.kind !== "run") throw new Error("expected a command");
    const ctx: CommandContext = { db: t.db, where: "test db", env };
    return parsed.run(ctx);
  };

  beforeAll(async () => {
    t = await createTestDb(kind);
    f = await createProjectFixture(t.db);
  });
  afterAll(async () => t?.close());

  it("manages users through the services, as the system", async () => {
    const out = await run(["user", "add", "--email", "Kim@Example.org", "--name", "Kim"]);
    const password = /^password: (\S+)$/m.exec(out)?.[1];
    expect(out).toContain("created user kim@example.org (Kim) in test db");
    expect(await authenticateUser(t.db, "kim@example.org", password!)).toMatchObject({ name: "Kim" });

    expect(await run(["user", "disable", "--email", "kim@example.org"])).toContain("disabled kim@example.org");
    expect(await authenticateUser(t.db, "kim@example.org", password!)).toBeNull();
    await expect(run(["user", "disable", "--email", "kim@example.org"])).rejects.toThrow(CliError);
    await run(["user", "enable", "--email", "kim@example.org"]);
    expect(
      await run(["user", "reset-password", "--email", "kim@example.org"], { HEMALOOP_USER_PASSWORD: "kim's new long password" }),
    ).toContain("password: the one in HEMALOOP_USER_PASSWORD");
    expect(await authenticateUser(t.db, "kim@example.org", "kim's new long password")).not.toBeNull();
    await expect(run(["user", "reset-password", "--email", "kim@example.org"], { HEMALOOP_USER_PASSWORD: "short" })).rejects.toThrow(
      /at least 12/,
    );
    expect(await run(["user", "make-admin", "--email", "kim@example.org"])).toContain("is now a system admin");
    expect(await run(["user", "make-admin", "--email", "kim@example.org", "--revoke"])).toContain("is no longer a system admin");
    await expect(run(["user", "enable", "--email", "ghost@example.org"])).rejects.toThrow("user ghost@example.org not found");

    const trail = await t.db
      .select({ action: auditEvent.action, after: auditEvent.after })
      .from(auditEvent)
      .where(isNull(auditEvent.actorId))
      .orderBy(auditEvent.createdAt);
    const kimActions = trail.filter((e) => (e.after as { email?: string }).email === "kim@example.org");
    expect(kimActions.map((e) => e.action)).toEqual([
      "user.create",
      "user.disable",
      "user.enable",
      "user.reset-password",
      "user.set-system-admin",
      "user.set-system-admin",
    ]);
    for (const e of kimActions) expect(e.after).toMatchObject({ via: "system" });
  });

  it("sets up an institution, a project with a dataset and its members", async () => {
    await run(["institution", "add", "--name", "St Elsewhere", "--country", "US"]);
    await run(["institution", "add-admin", "--institution", "St Elsewhere", "--email", f.users.lead.email]);
    await run([
      "project",
      "create",
      "--slug",
      "cli-project",
      "--name",
      "CLI project",
      "--scheme",
      "pbc-8",
      "--description",
      "made headless",
    ]);
    await expect(run(["project", "create", "--slug", "cli-project", "--name", "again", "--scheme", "pbc-8"])).rejects.toThrow(
      /already exists/,
    );
    const [d] = await t.db.select({ name: dataset.name }).from(dataset).where(eq(dataset.id, f.cropDatasetId));
    await run(["project", "add-dataset", "--project", "cli-project", "--dataset", d!.name]);
    await run(["member", "add", "--project", "cli-project", "--email", f.users.annotator.email, "--role", "annotator"]);
    await run(["member", "role", "--project", "cli-project", "--email", f.users.annotator.email, "--role", "lead"]);
    await run(["member", "add", "--project", "cli-project", "--email", f.users.reviewer.email, "--role", "reviewer"]);
    await run(["member", "remove", "--project", "cli-project", "--email", f.users.reviewer.email]);

    const [p] = await t.db.select().from(project).where(eq(project.slug, "cli-project"));
    expect(p).toMatchObject({ name: "CLI project", description: "made headless", createdBy: null });
    expect(
      await t.db.select({ userId: membership.userId, role: membership.role }).from(membership).where(eq(membership.projectId, p!.id)),
    ).toEqual([{ userId: f.users.annotator.id, role: "lead" }]);
    const events = await t.db
      .select()
      .from(auditEvent)
      .where(and(eq(auditEvent.entityId, p!.id), isNull(auditEvent.actorId)));
    expect(events.map((e) => e.action).sort()).toEqual([
      "membership.add",
      "membership.add",
      "membership.change-role",
      "membership.remove",
      "project.add-dataset",
      "project.create",
    ]);
  });
});
