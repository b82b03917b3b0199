import { listProjectMembers, projectRoles, type ProjectRole } from "@hemaloop/db/queries";
import { addProjectMember, changeProjectMemberRole, removeProjectMember } from "@hemaloop/db/services";
import { z } from "zod";
import { roleProcedure, router } from "../init";

const roleSchema = z.enum(projectRoles as [ProjectRole, ...ProjectRole[]]);
const emailSchema = z.string().trim().toLowerCase().max(320).pipe(z.email("enter the email of an existing user"));

/** Project membership (project admins): add by email, change role, remove; the last admin stays. */
export const memberRouter = router({
  list: roleProcedure("admin").query(({ ctx }) => listProjectMembers(ctx.db, ctx.project.id)),

  add: roleProcedure("admin")
    .input(z.object({ email: emailSchema, role: roleSchema }))
    .mutation(({ ctx, input }) =>
      addProjectMember(ctx.db, { actorId: ctx.user.id }, { projectId: ctx.project.id, email: input.email, role: input.role }),
    ),

  changeRole: roleProcedure("admin")
    .input(z.object({ email: emailSchema, role: roleSchema }))
    .mutation(({ ctx, input }) =>
      changeProjectMemberRole(ctx.db, { actorId: ctx.user.id }, { projectId: ctx.project.id, email: input.email, role: input.role }),
    ),

  remove: roleProcedure("admin")
    .input(z.object({ email: emailSchema }))
    .mutation(({ ctx, input }) => removeProjectMember(ctx.db, { actorId: ctx.user.id }, { projectId: ctx.project.id, email: input.email })),
});
