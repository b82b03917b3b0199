import type { Db } from "@hemaloop/db/client";
import { DomainError } from "@hemaloop/db/errors";
import { getMembershipRole, getProjectById, getProjectBySlug, hasProjectRole, type Project, type ProjectRole } from "@hemaloop/db/queries";
import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { z, ZodError } from "zod";

/** What the session exposes about the signed-in user (never the password hash). */
export type SessionUser = { id: string; email: string; name: string; isSystemAdmin: boolean };

export type TrpcContext = {
  db: Db;
  /** null when signed out. */
  user: SessionUser | null;
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

const t = initTRPC.context<TrpcContext>().create({
  transformer: superjson,
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    return {
      ...shape,
      data: {
        ...shape.data,
        zodError: cause instanceof ZodError ? z.flattenError(cause) : null,
        // Domain details for the client, e.g. the current label on a CONFLICT.
        domain: isDomainError(cause) ? { code: cause.code, details: cause.details ?? null } : null,
      },
    };
  },
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

export const publicProcedure = t.procedure.use(mapDomainErrors);

/** Requires a signed-in user; ctx.user is non-null below it. */
export const protectedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: "UNAUTHORIZED", message: "sign in first" });
  return next({ ctx: { user: ctx.user } });
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
 * check roles themselves.
 */
export function roleProcedure(minRole: ProjectRole) {
  return protectedProcedure.input(projectRefInput).use(async ({ ctx, input, next }) => {
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
    return next({ ctx: { project, role } });
  });
}
