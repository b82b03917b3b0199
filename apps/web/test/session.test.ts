import { checkCredentials, disableUser, enableUser, resetPassword, SYSTEM_ACTOR } from "@hemaloop/db";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProjectFixture, type ProjectFixture } from "../../../packages/db/test/helpers/project-fixture";
import { createTestDb, describeEachDb, type TestDb } from "../../../packages/db/test/helpers/test-db";
import { decideSignInPage, resolveSessionState, sessionUserOf, type SessionState } from "../src/server/session-state";
import { appRouter, createCaller } from "../src/server/trpc/root";
import { trpcCode } from "./helpers/trpc-code";

describeEachDb("session: disabled users stop at once", (kind) => {
  let t: TestDb;
  let f: ProjectFixture;
  /** One request as the app builds it: the JWT names a user id, the context re-reads that user. */
  const requestAs = async (userId: string | null) =>
    createCaller({ db: t.db, user: sessionUserOf(await resolveSessionState(t.db, userId)) });

  beforeAll(async () => {
    t = await createTestDb(kind);
    f = await createProjectFixture(t.db);
  });
  afterAll(async () => t?.close());

  it("answers UNAUTHORIZED on the next request after the user is disabled, and again after enabling works", async () => {
    const uid = f.users.annotator.id;
    expect(await trpcCode((await requestAs(uid)).project.get({ projectSlug: f.projectSlug }))).toBe("OK");

    await disableUser(t.db, { actorId: f.users.sysadmin.id }, { email: f.users.annotator.email });
    expect(await resolveSessionState(t.db, uid)).toEqual({ status: "disabled" });
    expect(await trpcCode((await requestAs(uid)).project.get({ projectSlug: f.projectSlug }))).toBe("UNAUTHORIZED");
    const res = await fetchRequestHandler({
      endpoint: "/api/trpc",
      req: new Request("http://localhost/api/trpc/project.mine", { method: "GET" }),
      router: appRouter,
      createContext: async () => ({ db: t.db, user: sessionUserOf(await resolveSessionState(t.db, uid)) }),
    });
    expect(res.status).toBe(401);

    await enableUser(t.db, SYSTEM_ACTOR, { email: f.users.annotator.email });
    expect(await trpcCode((await requestAs(uid)).project.get({ projectSlug: f.projectSlug }))).toBe("OK");
  });

  it("treats a JWT naming a user that no longer exists as disabled, and no cookie as signed out", async () => {
    expect(await resolveSessionState(t.db, randomUUID())).toEqual({ status: "disabled" });
    expect(await resolveSessionState(t.db, undefined)).toEqual({ status: "signed-out" });
    expect(await trpcCode((await requestAs(null)).project.mine())).toBe("UNAUTHORIZED");
  });

  it("sign-in tells a disabled user so only after the right password", async () => {
    const { password } = await resetPassword(t.db, SYSTEM_ACTOR, { email: f.users.reviewer.email });
    await disableUser(t.db, SYSTEM_ACTOR, { email: f.users.reviewer.email });
    expect(await checkCredentials(t.db, f.users.reviewer.email, password)).toEqual({ status: "disabled" });
    expect(await checkCredentials(t.db, f.users.reviewer.email, "not the password")).toEqual({ status: "wrong" });
    expect(await checkCredentials(t.db, f.users.lead.email, "lead-pw")).toMatchObject({ status: "ok", user: { id: f.users.lead.id } });
  });
});

describe("sign-in page decision", () => {
  const active: SessionState = {
    status: "active",
    user: { id: "u", email: "a@b.c", name: "A", isSystemAdmin: false, passwordChangeRequired: false },
  };

  it("renders (never redirects) for a disabled user's JWT, so / and /sign-in cannot bounce it back and forth", () => {
    expect(decideSignInPage({ status: "disabled" }, { callbackUrl: "/projects/x" })).toEqual({
      callbackUrl: "/projects/x",
      disabled: true,
    });
    expect(decideSignInPage({ status: "signed-out" }, { reason: "disabled" })).toEqual({ callbackUrl: "/", disabled: true });
    expect(decideSignInPage({ status: "signed-out" }, {})).toEqual({ callbackUrl: "/", disabled: false });
  });

  it("sends an active session on to a same-site callback only", () => {
    expect(decideSignInPage(active, { callbackUrl: "/projects/x" })).toEqual({ redirectTo: "/projects/x" });
    expect(decideSignInPage(active, { callbackUrl: "//evil.example" })).toEqual({ redirectTo: "/" });
    expect(decideSignInPage(active, { callbackUrl: ["/a", "/b"] })).toEqual({ redirectTo: "/" });
  });
});
