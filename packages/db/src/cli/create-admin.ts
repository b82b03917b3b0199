import { and, count, eq, isNotNull, isNull } from "drizzle-orm";
import type { Db, DbOrTx } from "../client";
import { ConflictError, InvalidInputError } from "../errors";
import { recordAudit } from "../queries/audit";
import { hashPassword, type PublicUser } from "../queries/users";
import { user } from "../schema";
import { isDemoEmail } from "../seed/seed-demo";

export const MIN_ADMIN_PASSWORD_LENGTH = 12;

/**
 * Creates a system admin who signs in with `password` (hashed like every sign-in password). The check,
 * the insert and the audit event run in one transaction; an existing email is refused, never updated,
 * so the CLI cannot be used to take over an account.
 */
export async function createSystemAdmin(db: Db, input: { email: string; name: string; password: string }): Promise<PublicUser> {
  const email = input.email.trim().toLowerCase();
  if (isDemoEmail(email)) throw new InvalidInputError(`${email} is a demo account (its password is published); use a real address`);
  if (input.password.length < MIN_ADMIN_PASSWORD_LENGTH) {
    throw new InvalidInputError(`the password must have at least ${MIN_ADMIN_PASSWORD_LENGTH} characters`);
  }
  const passwordHash = await hashPassword(input.password);
  return db.transaction(async (tx) => {
    const [created] = await tx
      .insert(user)
      .values({ email, name: input.name, passwordHash, isSystemAdmin: true })
      .onConflictDoNothing({ target: user.email })
      .returning();
    if (!created) throw new ConflictError(`a user with the email ${email} already exists; nothing was changed`, { email });
    await recordAudit(tx, {
      actorId: null, // created from the command line, by whoever runs the host
      action: "user.create-admin",
      entityType: "user",
      entityId: created.id,
      after: { email, name: created.name, isSystemAdmin: true },
    });
    return { id: created.id, email: created.email, name: created.name, isSystemAdmin: created.isSystemAdmin };
  });
}

/** System admins who can sign in with a password: none means nobody can administer the instance yet. */
export async function countActiveSystemAdmins(db: DbOrTx): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(user)
    .where(and(eq(user.isSystemAdmin, true), isNotNull(user.passwordHash), isNull(user.disabledAt)));
  return row?.n ?? 0;
}
