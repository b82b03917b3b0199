import { and, count, eq, isNotNull, isNull, ne } from "drizzle-orm";
import { randomBytes } from "node:crypto";
import type { DbOrTx } from "../client";
import { ConflictError, InvalidInputError, NotFoundError } from "../errors";
import { recordAudit } from "../queries/audit";
import { hashPassword, verifyPassword, type PublicUser } from "../queries/users";
import { user } from "../schema";
import { isDemoEmail } from "../seed/demo-logins";
import { withOrigin, type AdminActor } from "./admin-actor";

export const MIN_PASSWORD_LENGTH = 12;

export type UserRow = typeof user.$inferSelect;
/** A password chosen by the service is returned once (to show the operator) and never stored in clear. */
export type WithPassword<T> = T & { password: string; generated: boolean };

function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

function generatePassword(): string {
  return randomBytes(18).toString("base64url");
}

async function preparePassword(given: string | undefined): Promise<{ password: string; generated: boolean; passwordHash: string }> {
  if (given !== undefined && given.length < MIN_PASSWORD_LENGTH) {
    throw new InvalidInputError(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  const password = given ?? generatePassword();
  return { password, generated: given === undefined, passwordHash: await hashPassword(password) };
}

function toPublic(row: UserRow): PublicUser {
  return { id: row.id, email: row.email, name: row.name, isSystemAdmin: row.isSystemAdmin };
}

function auditView(row: UserRow) {
  return {
    email: row.email,
    name: row.name,
    isSystemAdmin: row.isSystemAdmin,
    disabled: row.disabledAt !== null,
    passwordChangeRequired: row.passwordChangeRequired,
  };
}

/** The user row, locked until the transaction ends; NOT_FOUND for an unknown email. */
export async function lockUserByEmail(tx: DbOrTx, email: string): Promise<UserRow> {
  const normalised = normaliseEmail(email);
  const [row] = await tx.select().from(user).where(eq(user.email, normalised)).for("update");
  if (!row) throw new NotFoundError(`user ${normalised}`, { email: normalised });
  return row;
}

/** Refuses a change that would leave no enabled system admin who can sign in (nobody could administer the instance). */
async function assertAnotherActiveAdmin(tx: DbOrTx, exceptId: string): Promise<void> {
  const [row] = await tx
    .select({ n: count() })
    .from(user)
    .where(and(eq(user.isSystemAdmin, true), isNull(user.disabledAt), isNotNull(user.passwordHash), ne(user.id, exceptId)));
  if ((row?.n ?? 0) === 0) throw new ConflictError("this is the last active system admin; make another user admin first");
}

/** Creates a user with the given password or a generated one-time password; an existing email is refused, never updated. */
export async function createUser(
  db: DbOrTx,
  actor: AdminActor,
  input: { email: string; name: string; password?: string; isSystemAdmin?: boolean },
): Promise<WithPassword<PublicUser>> {
  const email = normaliseEmail(input.email);
  if (isDemoEmail(email)) throw new InvalidInputError(`${email} is a demo account (its password is published); use a real address`);
  const name = input.name.trim();
  if (!name) throw new InvalidInputError("a user needs a name");
  const secret = await preparePassword(input.password);
  return db.transaction(async (tx) => {
    const [created] = await tx
      .insert(user)
      // A generated password is known to whoever read it out: the user must replace it at first sign-in.
      .values({
        email,
        name,
        passwordHash: secret.passwordHash,
        isSystemAdmin: input.isSystemAdmin ?? false,
        passwordChangeRequired: secret.generated,
      })
      .onConflictDoNothing({ target: user.email })
      .returning();
    if (!created) throw new ConflictError(`a user with the email ${email} already exists; nothing was changed`, { email });
    await recordAudit(tx, {
      actorId: actor.actorId,
      action: "user.create",
      entityType: "user",
      entityId: created.id,
      after: withOrigin(actor, auditView(created)),
    });
    return { ...toPublic(created), password: secret.password, generated: secret.generated };
  });
}

/** Applies one change to a user and audits it with before/after, all in one transaction. */
async function updateUser(
  db: DbOrTx,
  actor: AdminActor,
  email: string,
  action: string,
  change: (
    row: UserRow,
    tx: DbOrTx,
  ) => Promise<Partial<Pick<UserRow, "disabledAt" | "passwordHash" | "isSystemAdmin" | "passwordChangeRequired">>>,
): Promise<UserRow> {
  return db.transaction(async (tx) => {
    const before = await lockUserByEmail(tx, email);
    const set = await change(before, tx);
    const [after] = await tx.update(user).set(set).where(eq(user.id, before.id)).returning();
    await recordAudit(tx, {
      actorId: actor.actorId,
      action,
      entityType: "user",
      entityId: before.id,
      before: auditView(before),
      after: withOrigin(actor, auditView(after!)),
    });
    return after!;
  });
}

/**
 * Disables a user: they cannot sign in and their open sessions stop on the next request. Nothing they
 * labelled or did is removed (users are never deleted).
 */
export async function disableUser(db: DbOrTx, actor: AdminActor, input: { email: string }): Promise<PublicUser> {
  const row = await updateUser(db, actor, input.email, "user.disable", async (before, tx) => {
    if (before.disabledAt) throw new ConflictError(`${before.email} is already disabled`);
    if (before.isSystemAdmin) await assertAnotherActiveAdmin(tx, before.id);
    return { disabledAt: new Date() };
  });
  return toPublic(row);
}

export async function enableUser(db: DbOrTx, actor: AdminActor, input: { email: string }): Promise<PublicUser> {
  const row = await updateUser(db, actor, input.email, "user.enable", async (before) => {
    if (!before.disabledAt) throw new ConflictError(`${before.email} is not disabled`);
    return { disabledAt: null };
  });
  return toPublic(row);
}

/** Sets a new password (given, or generated and returned once). The audit event records that it changed, never the password. */
export async function resetPassword(
  db: DbOrTx,
  actor: AdminActor,
  input: { email: string; password?: string },
): Promise<WithPassword<PublicUser>> {
  if (isDemoEmail(normaliseEmail(input.email))) throw new InvalidInputError("demo accounts keep their published password");
  const secret = await preparePassword(input.password);
  const row = await updateUser(db, actor, input.email, "user.reset-password", () =>
    Promise.resolve({ passwordHash: secret.passwordHash, passwordChangeRequired: secret.generated }),
  );
  return { ...toPublic(row), password: secret.password, generated: secret.generated };
}

export async function setSystemAdmin(db: DbOrTx, actor: AdminActor, input: { email: string; isSystemAdmin: boolean }): Promise<PublicUser> {
  const row = await updateUser(db, actor, input.email, "user.set-system-admin", async (before, tx) => {
    if (before.isSystemAdmin === input.isSystemAdmin) {
      throw new ConflictError(`${before.email} ${input.isSystemAdmin ? "is already" : "is not"} a system admin`);
    }
    if (!input.isSystemAdmin) await assertAnotherActiveAdmin(tx, before.id);
    return { isSystemAdmin: input.isSystemAdmin };
  });
  return toPublic(row);
}

/**
 * A signed-in user replaces their own password (also how a one-time password is retired). The current
 * password is checked even right after sign-in, so a session left open cannot be used to take the account.
 */
export async function changeOwnPassword(
  db: DbOrTx,
  input: { userId: string; currentPassword: string; newPassword: string },
): Promise<PublicUser> {
  if (input.newPassword.length < MIN_PASSWORD_LENGTH) {
    throw new InvalidInputError(`the new password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  if (input.newPassword === input.currentPassword) throw new InvalidInputError("the new password must differ from the current one");
  const passwordHash = await hashPassword(input.newPassword);
  return db.transaction(async (tx) => {
    const [before] = await tx.select().from(user).where(eq(user.id, input.userId)).for("update");
    if (!before || before.disabledAt) throw new NotFoundError("user", { id: input.userId });
    if (!before.passwordHash || !(await verifyPassword(input.currentPassword, before.passwordHash))) {
      throw new InvalidInputError("the current password is wrong");
    }
    const [after] = await tx.update(user).set({ passwordHash, passwordChangeRequired: false }).where(eq(user.id, before.id)).returning();
    await recordAudit(tx, {
      actorId: before.id,
      action: "user.change-password",
      entityType: "user",
      entityId: before.id,
      before: auditView(before),
      after: auditView(after!),
    });
    return toPublic(after!);
  });
}
