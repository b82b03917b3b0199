import { changeOwnPassword, MIN_PASSWORD_LENGTH } from "@hemaloop/db/services";
import { z } from "zod";
import { router, signedInProcedure } from "../init";

/** The signed-in user's own account; reachable while a one-time password still has to be replaced. */
export const accountRouter = router({
  /** Who is signed in and whether they must change their password first. */
  me: signedInProcedure.query(({ ctx }) => ({ ...ctx.user, passwordChangeRequired: ctx.user.passwordChangeRequired ?? false })),

  changePassword: signedInProcedure
    .input(
      z.object({
        currentPassword: z.string().min(1).max(1024),
        newPassword: z.string().min(MIN_PASSWORD_LENGTH, `the new password must have at least ${MIN_PASSWORD_LENGTH} characters`).max(1024),
      }),
    )
    .mutation(({ ctx, input }) => changeOwnPassword(ctx.db, { userId: ctx.user.id, ...input })),
});
