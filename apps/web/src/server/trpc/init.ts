import type { Db } from "@hemaloop/db/client";
import { DomainError } from "@hemaloop/db/errors";
import {
  getMembershipRole,
  getProjectById,
  getProjectBySlug,
  hasProjectRole,
  mayCreateProjects,
  type Project,
  type ProjectRole,
} from "@hemaloop/db/queries";
import { initTRPC, TRPCError } from "@trpc/server";
import { randomUUID } from "node:crypto";
import superjson from "superjson";
import { z, ZodError } from "zod";

/** What the session exposes about the signed-in user (never the password hash). */
export type SessionUser = {
  id: string;
  email: string;
  name: string;
  isSystemAdmin: boolean;
  /** true while the user still has a one-time password: only the change-password procedure answers. */
  passwordChangeRequired?: boolean;
};

/** The message of the FORBIDDEN every procedure but account.changePassword answers while a one-time password is in use. */
export const PASSWORD_CHANGE_REQUIRED_MESSAGE = "change your one-time password first";

export type TrpcContext = {
  db: Db;
  /** null when signed out. */
  user: SessionUser | null;
  /** How long a reader's claim lasts (HEMALOOP_READER_LEASE_SECONDS); the service default when absent. */
  readerLeaseMs?: number;
};

type DomainCode = DomainError["code"];
const domainToTrpc: Record<DomainCode, TRPCError["code"]> = {
  NOT_FOUND: "NOT_FOUND",
  CONFLICT: "CONFLICT",
  INVALID: "BAD_REQUEST",
  FORBIDDEN: "FORBIDDEN",
};

/** instanceof, with a structural fallback in case two copies of @hemaloop/db end up in one bundle. */
export function isDomainError(error: unknown): error is DomainError {
  if (error instanceof DomainError) return true;
  if (!(error instanceof Error) || !("code" in error)) return false;
  return typeof error.code === "string" && error.code in domainToTrpc && "details" in error;
}

/**
 * An unexpected error after its details were logged: the client gets this generic text and the
 * correlation id, the server log has the original error with its stack under the same id.
 */
export class UnexpectedServerError extends Error {
  constructor(readonly correlationId: string) {
    super(`Internal server error (reference ${correlationId})`);
    this.name = "UnexpectedServerError";
  }
}

/** One id per error object, so an error seen twice (middleware, then formatter) is logged once. */
const correlationIds = new WeakMap<object, string>();

/**
 * Anything that reaches a client as INTERNAL_SERVER_ERROR is unexpected: domain errors, zod input
 * errors and deliberate TRPCErrors carry other codes. Logs it once (stack included) and returns its id.
 */
function reportUnexpected(error: TRPCError, path: string | undefined): string {
  if (error.cause instanceof UnexpectedServerError) return error.cause.correlationId;
  const known = correlationIds.get(error);
  if (known) return known;
  const correlationId = randomUUID();
  correlationIds.set(error, correlationId);
  console.error(`[trpc] unexpected error in ${path ?? "?"} (reference ${correlationId}):`, error.cause ?? error);
  return correlationId;
}

const t = initTRPC.context<TrpcContext>().create({
  transformer: superjson,
  errorFormatter({ shape, error, path }) {
    // Stacks stay on the server whatever NODE_ENV says (tRPC only strips them in production).
    const { stack: _stack, ...data } = shape.data;
    if (error.code === "INTERNAL_SERVER_ERROR") {
      // Also covers errors outside procedures (context creation, serialisation).
      const hidden = new UnexpectedServerError(reportUnexpected(error, path));
      return { ...shape, message: hidden.message, data: { ...data, correlationId: hidden.correlationId, zodError: null, domain: null } };
    }
    const cause = error.cause;
    return {
      ...shape,
      data: {
        ...data,
        correlationId: null,
        zodError: cause instanceof ZodError ? z.flattenError(cause) : null,
        // Domain details for the client, e.g. the current label on a CONFLICT.
        domain: isDomainError(cause) ? { code: cause.code, details: cause.details ?? null } : null,
      },
    };
  },
});

/**
 * Replaces an unexpected error's text (a failed query, a driver message) before it leaves the
 * procedure, for HTTP clients and server-side callers alike.
 */
const hideUnexpectedErrors = t.middleware(async ({ path, next }) => {
  const result = await next();
  if (!result.ok && result.error.code === "INTERNAL_SERVER_ERROR" && !(result.error.cause instanceof UnexpectedServerError)) {
    const hidden = new UnexpectedServerError(reportUnexpected(result.error, path));
    throw new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: hidden.message, cause: hidden });
  }
  return result;
});

/**
 * THE place where domain errors become tRPC errors: query functions throw NotFoundError,
 * ConflictError, InvalidInputError or ForbiddenError; every procedure goes through this.
 */
const mapDomainErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && isDomainError(result.error.cause)) {
    const cause = result.error.cause;
    throw new TRPCError({ code: domainToTrpc[cause.code], message: cause.message, cause });
  }
  return result;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

export const publicProcedure = t.procedure.use(hideUnexpectedErrors).use(mapDomainErrors);

/** Requires a signed-in user, even one who still has to replace a one-time password (only the change-password procedure uses it). */
export const signedInProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: "UNAUTHORIZED", message: "sign in first" });
  return next({ ctx: { user: ctx.user } });
});

/** Requires a signed-in user who is done with any one-time password; ctx.user is non-null below it. */
export const protectedProcedure = signedInProcedure.use(({ ctx, next }) => {
  if (ctx.user.passwordChangeRequired) throw new TRPCError({ code: "FORBIDDEN", message: PASSWORD_CHANGE_REQUIRED_MESSAGE });
  return next();
});

/** Requires a system admin (re-read from the database on every request, so a revoked flag takes effect at once). */
export const adminProcedure = protectedProcedure.use(({ ctx, next }) => {
  if (!ctx.user.isSystemAdmin) throw new TRPCError({ code: "FORBIDDEN", message: "this needs a system admin" });
  return next();
});

/** Every project-scoped procedure names its project by id or slug. */
export const projectRefInput = z.object({
  projectId: z.uuid().optional(),
  projectSlug: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[a-z0-9][a-z0-9-]*$/)
    .optional(),
});

/**
 * A procedure for project members with at least `minRole` (annotator < reviewer < lead < admin).
 * Reads projectId/projectSlug from the zod-parsed input, loads the project and the caller's
 * membership; system admins pass as "admin". Handlers get ctx.project and ctx.role and never
 * check roles themselves. Archived projects are read-only: their mutations are refused here (services
 * check again inside their transactions), except those marked `allowArchived` (unarchiving).
 */
export function roleProcedure(minRole: ProjectRole, options: { allowArchived?: boolean } = {}) {
  return protectedProcedure.input(projectRefInput).use(async ({ ctx, input, type, next }) => {
    if (!input.projectId && !input.projectSlug) {
      throw new TRPCError({ code: "BAD_REQUEST", message: "projectId or projectSlug is required" });
    }
    const project: Project = input.projectId
      ? await getProjectById(ctx.db, input.projectId)
      : await getProjectBySlug(ctx.db, input.projectSlug!);
    const role: ProjectRole | null = ctx.user.isSystemAdmin ? "admin" : await getMembershipRole(ctx.db, project.id, ctx.user.id);
    if (!role) throw new TRPCError({ code: "FORBIDDEN", message: "you are not a member of this project" });
    if (!hasProjectRole(role, minRole)) {
      throw new TRPCError({ code: "FORBIDDEN", message: `this needs the ${minRole} role or higher (you are ${role})` });
    }
    if (type === "mutation" && project.archivedAt && !options.allowArchived) {
      throw new TRPCError({
        code: "CONFLICT",
        message: `project ${project.slug} is archived and read-only; a project admin can unarchive it in its settings`,
      });
    }
    return next({ ctx: { project, role } });
  });
}

/** Project creation: system admins and institution admins. */
export const projectCreatorProcedure = protectedProcedure.use(async ({ ctx, next }) => {
  if (!(await mayCreateProjects(ctx.db, ctx.user))) {
    throw new TRPCError({ code: "FORBIDDEN", message: "only system admins and institution admins may create projects" });
  }
  return next();
});
