import { checkCredentials, type PublicUser } from "@hemaloop/db";
import { auditEvent } from "@hemaloop/db/schema";
import { TRPCError } from "@trpc/server";
import { and, desc, eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createProjectFixture, type ProjectFixture } from "../../../packages/db/test/helpers/project-fixture";
import { createTestDb, describeEachDb, type TestDb } from "../../../packages/db/test/helpers/test-db";
import { fullyActiveUserOf, passwordChangeRedirect, resolveSessionState, sessionUserOf } from "../src/server/session-state";
import { PASSWORD_CHANGE_REQUIRED_MESSAGE } from "../src/server/trpc/init";
import { createCaller } from "../src/server/trpc/root";

async function trpcError(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCError) return { code: error.code, message: error.message };
    throw error;
  }
  return { code: "OK", message: "" };
}
const trpcCode = async (promise: Promise<unknown>) => (await trpcError(promise)).code;

describeEachDb("admin API: system admins only, every change audited", (kind) => {
  let t: TestDb;
  let f: ProjectFixture;
  const as = (u: PublicUser | null) => createCaller({ db: t.db, user: u });
  /** One request as the app builds it: the session names a user id, the database says who that is now. */
  const requestAs = async (userId: string) => createCaller({ db: t.db, user: sessionUserOf(await resolveSessionState(t.db, userId)) });

  async function lastAudit(entityId: string, action: string) {
    const [row] = await t.db
      .select()
      .from(auditEvent)
      .where(and(eq(auditEvent.entityId, entityId), eq(auditEvent.action, action)))
      .orderBy(desc(auditEvent.createdAt))
      .limit(1);
    return row;
  }

  beforeAll(async () => {
    t = await createTestDb(kind);
    f = await createProjectFixture(t.db);
  });
  afterAll(async () => t?.close());

  it("refuses every admin procedure to non-admins (FORBIDDEN) and signed-out callers (UNAUTHORIZED)", async () => {
    const email = f.users.annotator.email;
    const calls = (c: ReturnType<typeof as>) => [
      c.admin.users.list({}),
      c.admin.users.create({ email: "x@test.local", name: "X" }),
      c.admin.users.disable({ email }),
      c.admin.users.enable({ email }),
      c.admin.users.resetPassword({ email }),
      c.admin.users.setSystemAdmin({ email, isSystemAdmin: true }),
      c.admin.institutions.list(),
      c.admin.institutions.create({ name: "Nope" }),
      c.admin.institutions.addAdmin({ institutionName: "Nope", email }),
      c.admin.institutions.removeAdmin({ institutionName: "Nope", email }),
    ];
    for (const code of await Promise.all(calls(as(f.users.lead)).map(trpcCode))) expect(code).toBe("FORBIDDEN");
    for (const code of await Promise.all(calls(as(null)).map(trpcCode))) expect(code).toBe("UNAUTHORIZED");
    // a project admin is not a system admin
    expect(await trpcCode(as(f.users.admin).admin.users.list({}))).toBe("FORBIDDEN");
    // nothing was written
    expect(await checkCredentials(t.db, "x@test.local", "whatever")).toEqual({ status: "wrong" });
  });

  it("lists users with search and paging, never password hashes", async () => {
    const admin = as(f.users.sysadmin);
    const all = await admin.admin.users.list({ pageSize: 200 });
    expect(all.total).toBe(all.items.length);
    expect(all.items.length).toBeGreaterThanOrEqual(7);
    const annotator = all.items.find((u) => u.id === f.users.annotator.id)!;
    expect(annotator).toMatchObject({ email: f.users.annotator.email, isSystemAdmin: false, disabled: false, membershipCount: 1 });
    expect(annotator.createdAt).toBeInstanceOf(Date);
    expect(JSON.stringify(all)).not.toMatch(/passwordHash|password_hash/);
    expect(Object.keys(annotator).sort()).toEqual(
      ["createdAt", "disabled", "email", "id", "isSystemAdmin", "membershipCount", "name", "passwordChangeRequired"].sort(),
    );

    const found = await admin.admin.users.list({ search: "SYSADMIN" });
    expect(found.items.map((u) => u.id)).toEqual([f.users.sysadmin.id]);
    expect(found.total).toBe(1);
    // % and _ are literal, not wildcards
    expect((await admin.admin.users.list({ search: "%" })).total).toBe(0);

    const page1 = await admin.admin.users.list({ pageSize: 2, page: 1 });
    const page2 = await admin.admin.users.list({ pageSize: 2, page: 2 });
    expect(page1.items).toHaveLength(2);
    expect(page2.items[0]!.email > page1.items[1]!.email).toBe(true);
    expect(await trpcCode(admin.admin.users.list({ pageSize: 0 }))).toBe("BAD_REQUEST");
  });

  it("creates a user with a generated one-time password shown once, audited with the acting admin", async () => {
    const created = await as(f.users.sysadmin).admin.users.create({ email: "New.User@Test.local", name: "New User" });
    expect(created).toMatchObject({ email: "new.user@test.local", generated: true, isSystemAdmin: false });
    expect(created.oneTimePassword).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(created).not.toHaveProperty("password");
    const audit = await lastAudit(created.id, "user.create");
    expect(audit).toMatchObject({ actorId: f.users.sysadmin.id, before: null });
    expect(audit!.after).toMatchObject({ email: "new.user@test.local", passwordChangeRequired: true, disabled: false });
    expect(audit!.after).not.toHaveProperty("via");

    // a set password is not returned and needs no change
    const set = await as(f.users.sysadmin).admin.users.create({ email: "set@test.local", name: "Set", password: "a-good-long-password" });
    expect(set).toMatchObject({ generated: false, oneTimePassword: null });
    expect((await resolveSessionState(t.db, set.id)).status).toBe("active");
    expect(passwordChangeRedirect(await resolveSessionState(t.db, set.id))).toBeNull();

    expect(await trpcCode(as(f.users.sysadmin).admin.users.create({ email: "short@test.local", name: "S", password: "short" }))).toBe(
      "BAD_REQUEST",
    );
    expect(await trpcCode(as(f.users.sysadmin).admin.users.create({ email: "not-an-email", name: "S" }))).toBe("BAD_REQUEST");
    expect(await trpcCode(as(f.users.sysadmin).admin.users.create({ email: "set@test.local", name: "Again" }))).toBe("CONFLICT");
  });

  it("a one-time password forces a password change before anything else works", async () => {
    const created = await as(f.users.sysadmin).admin.users.create({ email: "otp@test.local", name: "Otp" });
    const otp = created.oneTimePassword!;
    expect((await checkCredentials(t.db, "otp@test.local", otp)).status).toBe("ok");
    const state = await resolveSessionState(t.db, created.id);
    expect(passwordChangeRedirect(state)).toBe("/account/password");
    expect(fullyActiveUserOf(state)).toBeNull(); // files, exports, downloads: 401

    const before = await requestAs(created.id);
    expect(await trpcError(before.project.mine())).toEqual({ code: "FORBIDDEN", message: PASSWORD_CHANGE_REQUIRED_MESSAGE });
    expect((await before.account.me()).passwordChangeRequired).toBe(true);
    expect(await trpcCode(before.account.changePassword({ currentPassword: "wrong-password", newPassword: "my-own-password-1" }))).toBe(
      "BAD_REQUEST",
    );
    expect(await trpcCode(before.account.changePassword({ currentPassword: otp, newPassword: "short" }))).toBe("BAD_REQUEST");
    expect(await trpcCode(before.account.changePassword({ currentPassword: otp, newPassword: otp }))).toBe("BAD_REQUEST");
    expect(passwordChangeRedirect(await resolveSessionState(t.db, created.id))).toBe("/account/password");

    await before.account.changePassword({ currentPassword: otp, newPassword: "my-own-password-1" });
    const after = await requestAs(created.id);
    expect(await after.project.mine()).toEqual([]);
    expect(passwordChangeRedirect(await resolveSessionState(t.db, created.id))).toBeNull();
    expect((await checkCredentials(t.db, "otp@test.local", otp)).status).toBe("wrong");
    expect((await checkCredentials(t.db, "otp@test.local", "my-own-password-1")).status).toBe("ok");
    const audit = await lastAudit(created.id, "user.change-password");
    expect(audit).toMatchObject({
      actorId: created.id,
      before: { passwordChangeRequired: true },
      after: { passwordChangeRequired: false },
    });
    expect(JSON.stringify(audit)).not.toContain("my-own-password-1");

    // a generated reset requires the change again; a set one does not
    const reset = await as(f.users.sysadmin).admin.users.resetPassword({ email: "otp@test.local" });
    expect(reset.oneTimePassword).toBeTruthy();
    expect(await trpcCode((await requestAs(created.id)).project.mine())).toBe("FORBIDDEN");
    const resetAudit = await lastAudit(created.id, "user.reset-password");
    expect(resetAudit).toMatchObject({
      actorId: f.users.sysadmin.id,
      before: { passwordChangeRequired: false },
      after: { passwordChangeRequired: true },
    });
    const setReset = await as(f.users.sysadmin).admin.users.resetPassword({ email: "otp@test.local", password: "admin-chosen-pass" });
    expect(setReset.oneTimePassword).toBeNull();
    expect(await trpcCode((await requestAs(created.id)).project.mine())).toBe("OK");

    // any user changes their own password
    const lead = await requestAs(f.users.lead.id);
    await lead.account.changePassword({ currentPassword: "lead-pw", newPassword: "lead-new-password" });
    expect((await checkCredentials(t.db, f.users.lead.email, "lead-new-password")).status).toBe("ok");
    expect(await trpcCode(as(null).account.changePassword({ currentPassword: "x", newPassword: "xxxxxxxxxxxxxxx" }))).toBe("UNAUTHORIZED");
  });

  it("disables, enables and promotes with before/after audit; the last enabled admin stays", async () => {
    const admin = as(f.users.sysadmin);
    const email = f.users.reviewer.email;
    await admin.admin.users.disable({ email });
    expect(await lastAudit(f.users.reviewer.id, "user.disable")).toMatchObject({
      actorId: f.users.sysadmin.id,
      before: { disabled: false },
      after: { disabled: true },
    });
    expect(await trpcCode(admin.admin.users.disable({ email }))).toBe("CONFLICT");
    await admin.admin.users.enable({ email });
    expect(await lastAudit(f.users.reviewer.id, "user.enable")).toMatchObject({ before: { disabled: true }, after: { disabled: false } });

    // the fixture's sysadmin is the only enabled admin: neither disabling nor demoting them is allowed
    expect(await trpcCode(admin.admin.users.disable({ email: f.users.sysadmin.email }))).toBe("CONFLICT");
    expect(await trpcCode(admin.admin.users.setSystemAdmin({ email: f.users.sysadmin.email, isSystemAdmin: false }))).toBe("CONFLICT");

    await admin.admin.users.setSystemAdmin({ email, isSystemAdmin: true });
    expect(await lastAudit(f.users.reviewer.id, "user.set-system-admin")).toMatchObject({
      before: { isSystemAdmin: false },
      after: { isSystemAdmin: true },
    });
    // the promotion counts on the next request; the revoke takes effect at once too
    const reviewer = await requestAs(f.users.reviewer.id);
    expect((await reviewer.admin.users.list({})).total).toBeGreaterThan(0);
    await reviewer.admin.users.setSystemAdmin({ email: f.users.sysadmin.email, isSystemAdmin: false });
    expect(await trpcCode((await requestAs(f.users.sysadmin.id)).admin.users.list({}))).toBe("FORBIDDEN");
    // now the reviewer is the last one
    expect(await trpcCode(reviewer.admin.users.setSystemAdmin({ email, isSystemAdmin: false }))).toBe("CONFLICT");
    await reviewer.admin.users.setSystemAdmin({ email: f.users.sysadmin.email, isSystemAdmin: true });
    await admin.admin.users.setSystemAdmin({ email, isSystemAdmin: false });
  });

  it("creates institutions and names and removes their admins, audited", async () => {
    const admin = as(f.users.sysadmin);
    const inst = await admin.admin.institutions.create({ name: "  St Elsewhere ", country: "US" });
    expect(inst).toMatchObject({ name: "St Elsewhere", country: "US" });
    expect(await lastAudit(inst.id, "institution.create")).toMatchObject({ actorId: f.users.sysadmin.id, after: { name: "St Elsewhere" } });
    expect(await trpcCode(admin.admin.institutions.create({ name: "St Elsewhere" }))).toBe("CONFLICT");

    await admin.admin.institutions.addAdmin({ institutionName: "St Elsewhere", email: f.users.outsider.email });
    const listed = (await admin.admin.institutions.list()).find((i) => i.id === inst.id)!;
    expect(listed).toMatchObject({ admins: [{ email: f.users.outsider.email }], memberCount: 1 });
    expect(await lastAudit(inst.id, "institution.add-admin")).toMatchObject({
      before: null,
      after: { email: f.users.outsider.email, role: "admin" },
    });
    expect(await trpcCode(admin.admin.institutions.addAdmin({ institutionName: "St Elsewhere", email: f.users.outsider.email }))).toBe(
      "CONFLICT",
    );
    expect(await trpcCode(admin.admin.institutions.addAdmin({ institutionName: "Nowhere", email: f.users.outsider.email }))).toBe(
      "NOT_FOUND",
    );
    expect(await trpcCode(admin.admin.institutions.addAdmin({ institutionName: "St Elsewhere", email: "nobody@test.local" }))).toBe(
      "NOT_FOUND",
    );

    await admin.admin.institutions.removeAdmin({ institutionName: "St Elsewhere", email: f.users.outsider.email });
    expect((await admin.admin.institutions.list()).find((i) => i.id === inst.id)).toMatchObject({ admins: [], memberCount: 1 });
    expect(await lastAudit(inst.id, "institution.remove-admin")).toMatchObject({
      actorId: f.users.sysadmin.id,
      before: { role: "admin" },
      after: { role: "member" },
    });
    expect(await trpcCode(admin.admin.institutions.removeAdmin({ institutionName: "St Elsewhere", email: f.users.outsider.email }))).toBe(
      "CONFLICT",
    );
  });
});
