import { listInstitutionsForAdmin, listUsersForAdmin } from "@hemaloop/db/queries";
import {
  addInstitutionAdmin,
  createInstitution,
  createUser,
  disableUser,
  enableUser,
  MIN_PASSWORD_LENGTH,
  removeInstitutionAdmin,
  resetPassword,
  setSystemAdmin,
  type AdminActor,
} from "@hemaloop/db/services";
import { z } from "zod";
import { adminProcedure, router } from "../init";

const email = z.email().max(320);
const byEmail = z.object({ email });
/** Omitted = a generated one-time password, shown once in the response; the user must replace it at first sign-in. */
const optionalPassword = z.string().min(MIN_PASSWORD_LENGTH).max(1024).optional();
const institutionName = z.string().trim().min(1).max(200);

/** The signed-in system admin is the actor of every change (the CLI acts as the system instead). */
const actorOf = (ctx: { user: { id: string } }): AdminActor => ({ actorId: ctx.user.id });

/** A created or reset user with the password that was set; the password is only returned when it was generated. */
function revealGenerated<T extends { password: string; generated: boolean }>(result: T) {
  const { password, generated, ...rest } = result;
  return { ...rest, generated, oneTimePassword: generated ? password : null };
}

const usersRouter = router({
  /** Users by email, searched by email or name, one page at a time; never password hashes. */
  list: adminProcedure
    .input(
      z.object({
        search: z.string().max(320).optional(),
        page: z.number().int().min(1).default(1),
        pageSize: z.number().int().min(1).max(200).default(50),
      }),
    )
    .query(async ({ ctx, input }) => {
      const result = await listUsersForAdmin(ctx.db, {
        search: input.search,
        offset: (input.page - 1) * input.pageSize,
        limit: input.pageSize,
      });
      return { ...result, page: input.page, pageSize: input.pageSize };
    }),

  create: adminProcedure
    .input(
      z.object({
        email,
        name: z.string().trim().min(1).max(200),
        isSystemAdmin: z.boolean().default(false),
        password: optionalPassword,
      }),
    )
    .mutation(async ({ ctx, input }) => revealGenerated(await createUser(ctx.db, actorOf(ctx), input))),

  disable: adminProcedure.input(byEmail).mutation(({ ctx, input }) => disableUser(ctx.db, actorOf(ctx), input)),

  enable: adminProcedure.input(byEmail).mutation(({ ctx, input }) => enableUser(ctx.db, actorOf(ctx), input)),

  resetPassword: adminProcedure
    .input(z.object({ email, password: optionalPassword }))
    .mutation(async ({ ctx, input }) => revealGenerated(await resetPassword(ctx.db, actorOf(ctx), input))),

  setSystemAdmin: adminProcedure
    .input(z.object({ email, isSystemAdmin: z.boolean() }))
    .mutation(({ ctx, input }) => setSystemAdmin(ctx.db, actorOf(ctx), input)),
});

const institutionAdminInput = z.object({ institutionName, email });

const institutionsRouter = router({
  /** Every institution with its admins and member count. */
  list: adminProcedure.query(({ ctx }) => listInstitutionsForAdmin(ctx.db)),

  create: adminProcedure
    .input(z.object({ name: institutionName, country: z.string().trim().max(100).optional() }))
    .mutation(({ ctx, input }) => createInstitution(ctx.db, actorOf(ctx), input)),

  addAdmin: adminProcedure.input(institutionAdminInput).mutation(({ ctx, input }) => addInstitutionAdmin(ctx.db, actorOf(ctx), input)),

  /** The user stays a member; only the admin role goes. */
  removeAdmin: adminProcedure
    .input(institutionAdminInput)
    .mutation(({ ctx, input }) => removeInstitutionAdmin(ctx.db, actorOf(ctx), input)),
});

/** Instance administration for system admins: users and institutions, over the same services as `npm run admin`. */
export const adminRouter = router({ users: usersRouter, institutions: institutionsRouter });
