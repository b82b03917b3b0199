import { getProjectById, listProjectJobSummaries, schema, type Db, type PublicUser } from "@hemaloop/db";
import { TRPCError } from "@trpc/server";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { eq, sql } from "drizzle-orm";
import superjson from "superjson";
import { afterAll, afterEach, beforeAll, expect, it, vi, type MockInstance } from "vitest";
import { ZodError } from "zod";
import { createProjectFixture, type ProjectFixture } from "../../../packages/db/test/helpers/project-fixture";
import { createTestDb, describeEachDb, type TestDb } from "../../../packages/db/test/helpers/test-db";
import type { TrpcContext } from "../src/server/trpc/init";
import { appRouter, createCaller } from "../src/server/trpc/root";

type ErrorBody = {
  error?: {
    json: {
      message: string;
      data: {
        code: string;
        httpStatus: number;
        correlationId: string | null;
        stack?: string;
        zodError: unknown;
        domain: { code: string } | null;
      };
    };
  };
};

const secretText = 'relation "secret_table" does not exist';
const uuidPattern = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

async function httpCall(createContext: () => TrpcContext | Promise<TrpcContext>, path: string, input: unknown) {
  const res = await fetchRequestHandler({
    endpoint: "/api/trpc",
    req: new Request(`http://localhost/api/trpc/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(superjson.serialize(input)),
    }),
    router: appRouter,
    createContext,
  });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as ErrorBody };
}

async function caught(promise: Promise<unknown>): Promise<TRPCError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCError) return error;
    throw error;
  }
  throw new Error("expected a TRPCError");
}

/** A database whose every query fails with an internal message that must never reach a client. */
function brokenDb(db: Db): Db {
  const fail = () => {
    throw new Error(`${secretText} (host=10.1.2.3)`);
  };
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (["select", "insert", "update", "delete", "execute", "transaction"].includes(String(prop))) return fail;
      return Reflect.get(target, prop, receiver);
    },
  });
}

describeEachDb("tRPC API: no internal error text reaches a client", (kind) => {
  let t: TestDb;
  let f: ProjectFixture;
  let consoleError: MockInstance<typeof console.error>;
  const as = (u: PublicUser | null) => createCaller({ db: t.db, user: u });

  beforeAll(async () => {
    t = await createTestDb(kind);
    f = await createProjectFixture(t.db);
  });
  afterAll(async () => t.close());
  afterEach(() => consoleError?.mockRestore());
  const spyOnConsoleError = () => (consoleError = vi.spyOn(console, "error").mockImplementation(() => {}));

  /** The one log line of an unexpected error: its correlation id and the original error with its stack. */
  function expectLoggedOnce(correlationId: string) {
    expect(consoleError).toHaveBeenCalledTimes(1);
    const args = consoleError.mock.calls[0]!;
    expect(args.join(" ")).toContain(correlationId);
    const original = args.find((a): a is Error => a instanceof Error);
    expect(original?.stack).toContain("secret_table");
  }

  it("an int4-overflowing expectedVersion (2**31) is a zod BAD_REQUEST, not a failed query", async () => {
    spyOnConsoleError();
    const input = { projectId: f.projectId, cellId: f.cropCellIds[0]!, classId: f.classIds.ig!, expectedVersion: 2 ** 31 };
    const error = await caught(as(f.users.annotator).label.save(input));
    expect(error.code).toBe("BAD_REQUEST");
    expect(error.cause).toBeInstanceOf(ZodError);
    const http = await httpCall(() => ({ db: t.db, user: f.users.annotator }), "label.save", input);
    expect(http.status).toBe(400);
    expect(http.body.error?.json.data.zodError).toMatchObject({ fieldErrors: { expectedVersion: [expect.any(String)] } });
    expect(http.text).not.toMatch(/Failed query|out of range|insert into/);
    // other numbers are bounded too
    expect((await caught(as(f.users.annotator).cell.list({ projectId: f.projectId, page: 2 ** 31 }))).code).toBe("BAD_REQUEST");
    expect((await caught(as(f.users.annotator).project.fields({ projectId: f.projectId, offset: 2 ** 53 - 1 }))).code).toBe("BAD_REQUEST");
    expect(consoleError).not.toHaveBeenCalled();
  });

  it("an unexpected error is INTERNAL_SERVER_ERROR with a correlation id and none of its text, logged once with its stack", async () => {
    spyOnConsoleError();
    const input = { projectId: f.projectId, cellId: f.cropCellIds[0]!, classId: f.classIds.ig!, expectedVersion: null };
    const http = await httpCall(() => ({ db: brokenDb(t.db), user: f.users.annotator }), "label.save", input);
    expect(http.status).toBe(500);
    const json = http.body.error!.json;
    expect(json.data.code).toBe("INTERNAL_SERVER_ERROR");
    expect(json.data.correlationId).toMatch(uuidPattern);
    expect(json.message).toContain(json.data.correlationId);
    expect(json.data.stack).toBeUndefined();
    expect(json.data.domain).toBeNull();
    expect(http.text).not.toMatch(/secret_table|10\.1\.2\.3|node_modules|at async/);
    expectLoggedOnce(json.data.correlationId!);

    // server-side callers (server components) get the same generic error
    consoleError.mockClear();
    const error = await caught(createCaller({ db: brokenDb(t.db), user: f.users.annotator }).project.get({ projectId: f.projectId }));
    expect(error.code).toBe("INTERNAL_SERVER_ERROR");
    expect(error.message).not.toContain("secret_table");
    const id = error.message.match(uuidPattern)?.[0];
    expect(id).toBeDefined();
    expect(JSON.stringify(error.cause)).not.toContain("secret_table");
    expectLoggedOnce(id!);
  });

  it("an error outside any procedure (context creation) is hidden the same way", async () => {
    spyOnConsoleError();
    const http = await httpCall(
      () => {
        throw new Error(`${secretText} while reading the session`);
      },
      "label.save",
      { projectId: f.projectId, cellId: f.cropCellIds[0]!, classId: f.classIds.ig!, expectedVersion: null },
    );
    expect(http.status).toBe(500);
    const json = http.body.error!.json;
    expect(json.data.correlationId).toMatch(uuidPattern);
    expect(json.message).toContain(json.data.correlationId);
    expect(json.data.stack).toBeUndefined();
    expect(http.text).not.toContain("secret_table");
    expectLoggedOnce(json.data.correlationId!);
  });

  it("domain errors and deliberate tRPC errors keep their codes and messages, without stacks", async () => {
    spyOnConsoleError();
    const annotator = () => ({ db: t.db, user: f.users.annotator });
    const missing = await httpCall(annotator, "label.save", {
      projectId: f.projectId,
      cellId: f.otherCellId,
      classId: f.classIds.ig!,
      expectedVersion: null,
    });
    expect(missing.status).toBe(404);
    expect(missing.body.error?.json).toMatchObject({
      message: "cell not found",
      data: { code: "NOT_FOUND", correlationId: null, domain: { code: "NOT_FOUND" } },
    });
    expect(missing.body.error?.json.data.stack).toBeUndefined();
    const forbidden = await httpCall(annotator, "job.enqueueTrain", { projectId: f.projectId });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error?.json.message).toBe("this needs the lead role or higher (you are annotator)");
    expect(forbidden.body.error?.json.data.stack).toBeUndefined();
    expect(consoleError).not.toHaveBeenCalled();
  });

  it("a failure after the write leaves neither the change nor its audit row (router level)", async () => {
    spyOnConsoleError();
    const lead = as(f.users.lead);
    const queued = await lead.job.enqueueTrain({ projectId: f.projectId });
    const jobsBefore = await listProjectJobSummaries(t.db, { projectId: f.projectId, limit: 100 });
    const auditCount = async () => (await t.db.select({ n: sql<number>`count(*)::int` }).from(schema.auditEvent))[0]!.n;
    const auditsBefore = await auditCount();
    await t.db.execute(sql`create or replace function test_fail_audit() returns trigger language plpgsql as $$
      begin raise exception 'audit sink down'; end $$`);
    await t.db.execute(sql`create trigger test_fail_audit before insert on audit_event for each row execute function test_fail_audit()`);
    try {
      expect((await caught(lead.job.enqueueTrain({ projectId: f.projectId }))).code).toBe("INTERNAL_SERVER_ERROR");
      expect((await caught(lead.job.enqueueLodocv({ projectId: f.projectId }))).code).toBe("INTERNAL_SERVER_ERROR");
      expect((await caught(lead.job.cancel({ projectId: f.projectId, jobId: queued.id }))).code).toBe("INTERNAL_SERVER_ERROR");
      expect(
        (
          await caught(
            as(f.users.annotator).label.save({
              projectId: f.projectId,
              cellId: f.cropCellIds[4]!,
              classId: f.classIds.ig!,
              expectedVersion: null,
            }),
          )
        ).code,
      ).toBe("INTERNAL_SERVER_ERROR");
    } finally {
      await t.db.execute(sql`drop trigger test_fail_audit on audit_event`);
    }
    expect(await listProjectJobSummaries(t.db, { projectId: f.projectId, limit: 100 })).toEqual(jobsBefore);
    const [job] = await t.db.select().from(schema.job).where(eq(schema.job.id, queued.id));
    expect(job).toMatchObject({ status: "queued", cancelRequested: false });
    const page = await as(f.users.annotator).cell.list({ projectId: f.projectId, imageKind: "crop" });
    expect(page.items.find((c) => c.cellId === f.cropCellIds[4])?.myLabel).toBeNull();
    expect(await auditCount()).toBe(auditsBefore);
    expect((await getProjectById(t.db, f.projectId)).currentModelVersionId).toBeNull();
    expect(consoleError).toHaveBeenCalledTimes(4);
  });
});
