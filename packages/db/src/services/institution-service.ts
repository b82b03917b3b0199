import { and, eq } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { ConflictError, InvalidInputError, NotFoundError } from "../errors";
import { recordAudit } from "../queries/audit";
import { institution, institutionMember } from "../schema";
import { withOrigin, type AdminActor } from "./admin-actor";
import { lockUserByEmail } from "./user-service";

export type InstitutionRow = typeof institution.$inferSelect;

export async function lockInstitutionByName(tx: DbOrTx, name: string): Promise<InstitutionRow> {
  const [row] = await tx.select().from(institution).where(eq(institution.name, name.trim())).for("share");
  if (!row) throw new NotFoundError(`institution "${name.trim()}"`, { name: name.trim() });
  return row;
}

export async function createInstitution(db: DbOrTx, actor: AdminActor, input: { name: string; country?: string }): Promise<InstitutionRow> {
  const name = input.name.trim();
  if (!name) throw new InvalidInputError("an institution needs a name");
  return db.transaction(async (tx) => {
    const [created] = await tx
      .insert(institution)
      .values({ name, country: input.country?.trim() || null })
      .onConflictDoNothing({ target: institution.name })
      .returning();
    if (!created) throw new ConflictError(`an institution named "${name}" already exists`, { name });
    await recordAudit(tx, {
      actorId: actor.actorId,
      action: "institution.create",
      entityType: "institution",
      entityId: created.id,
      after: withOrigin(actor, { name: created.name, country: created.country }),
    });
    return created;
  });
}

/** Makes the user an admin of the institution (adds them, or promotes a member); CONFLICT when they already are one. */
export async function addInstitutionAdmin(db: DbOrTx, actor: AdminActor, input: { institutionName: string; email: string }): Promise<void> {
  await db.transaction(async (tx) => {
    const inst = await lockInstitutionByName(tx, input.institutionName);
    const u = await lockUserByEmail(tx, input.email);
    const [existing] = await tx
      .select({ role: institutionMember.role })
      .from(institutionMember)
      .where(and(eq(institutionMember.institutionId, inst.id), eq(institutionMember.userId, u.id)));
    if (existing?.role === "admin") throw new ConflictError(`${u.email} is already an admin of ${inst.name}`);
    await tx
      .insert(institutionMember)
      .values({ institutionId: inst.id, userId: u.id, role: "admin" })
      .onConflictDoUpdate({ target: [institutionMember.institutionId, institutionMember.userId], set: { role: "admin" } });
    await recordAudit(tx, {
      actorId: actor.actorId,
      action: "institution.add-admin",
      entityType: "institution",
      entityId: inst.id,
      before: existing ? { email: u.email, role: existing.role } : null,
      after: withOrigin(actor, { email: u.email, role: "admin" }),
    });
  });
}

/** Takes the admin role away; the user stays a member of the institution (their datasets' access is unchanged). */
export async function removeInstitutionAdmin(
  db: DbOrTx,
  actor: AdminActor,
  input: { institutionName: string; email: string },
): Promise<void> {
  await db.transaction(async (tx) => {
    const inst = await lockInstitutionByName(tx, input.institutionName);
    const u = await lockUserByEmail(tx, input.email);
    const [updated] = await tx
      .update(institutionMember)
      .set({ role: "member" })
      .where(and(eq(institutionMember.institutionId, inst.id), eq(institutionMember.userId, u.id), eq(institutionMember.role, "admin")))
      .returning();
    if (!updated) throw new ConflictError(`${u.email} is not an admin of ${inst.name}`);
    await recordAudit(tx, {
      actorId: actor.actorId,
      action: "institution.remove-admin",
      entityType: "institution",
      entityId: inst.id,
      before: { email: u.email, role: "admin" },
      after: withOrigin(actor, { email: u.email, role: "member" }),
    });
  });
}
