import { asc, count, eq, ilike, or, sql } from "drizzle-orm";
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import type { DbOrTx } from "../client";
import { institutionMember, membership, user } from "../schema";

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, 64);
  return `${salt.toString("hex")}:${hash.toString("hex")}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [saltHex, hashHex] = stored.split(":");
  if (!saltHex || !hashHex) return false;
  const expected = Buffer.from(hashHex, "hex");
  const actual = await scryptAsync(password, Buffer.from(saltHex, "hex"), expected.length);
  return timingSafeEqual(actual, expected);
}

let dummyHash: Promise<string> | undefined;

/** A hash of a random password nobody knows, made once per process with the same scrypt parameters. */
function getDummyHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(32).toString("hex"));
  return dummyHash;
}

export type PublicUser = { id: string; email: string; name: string; isSystemAdmin: boolean };

/** Who is asking: enough to decide visibility without another lookup. */
export type Viewer = Pick<PublicUser, "id" | "isSystemAdmin">;

export async function getPublicUserById(db: DbOrTx, id: string): Promise<PublicUser | null> {
  const [row] = await db
    .select({ id: user.id, email: user.email, name: user.name, isSystemAdmin: user.isSystemAdmin })
    .from(user)
    .where(eq(user.id, id));
  return row ?? null;
}

/**
 * What a session's user id stands for now, read on every request (one primary-key select): a disabled or
 * deleted account ends the session at once, though its JWT stays valid until it expires.
 */
export type SessionUserState = { status: "active"; user: PublicUser & { passwordChangeRequired: boolean } } | { status: "disabled" };

export async function loadSessionUserState(db: DbOrTx, id: string): Promise<SessionUserState> {
  const [row] = await db
    .select({
      id: user.id,
      email: user.email,
      name: user.name,
      isSystemAdmin: user.isSystemAdmin,
      passwordChangeRequired: user.passwordChangeRequired,
      disabledAt: user.disabledAt,
    })
    .from(user)
    .where(eq(user.id, id));
  if (!row || row.disabledAt) return { status: "disabled" };
  const { disabledAt: _disabledAt, ...active } = row;
  return { status: "active", user: active };
}

/** Creates the user or, when the email exists, returns it unchanged (seeding is idempotent). */
export async function ensureUser(
  db: DbOrTx,
  input: { email: string; name: string; password?: string; isSystemAdmin?: boolean },
): Promise<PublicUser> {
  const email = input.email.trim().toLowerCase();
  const existing = await findUserByEmail(db, email);
  if (existing) return toPublicUser(existing);
  const [created] = await db
    .insert(user)
    .values({
      email,
      name: input.name,
      passwordHash: input.password ? await hashPassword(input.password) : null,
      isSystemAdmin: input.isSystemAdmin ?? false,
    })
    .onConflictDoNothing({ target: user.email })
    .returning();
  if (created) return toPublicUser(created);
  return toPublicUser((await findUserByEmail(db, email))!);
}

export async function findUserByEmail(db: DbOrTx, email: string) {
  const [row] = await db.select().from(user).where(eq(user.email, email.trim().toLowerCase()));
  return row;
}

export type CredentialCheck = { status: "ok"; user: PublicUser } | { status: "wrong" } | { status: "disabled" };

/**
 * Checks a sign-in. "disabled" is reported only after the password matched, so it tells nothing about
 * an account to someone who does not know its password. Never returns the hash.
 */
export async function checkCredentials(db: DbOrTx, email: string, password: string): Promise<CredentialCheck> {
  const row = await findUserByEmail(db, email);
  // Unknown emails and password-less accounts pay for one scrypt too, so timing does not tell them apart.
  const stored = row?.passwordHash ?? (await getDummyHash());
  const matches = await verifyPassword(password, stored);
  if (!row?.passwordHash || !matches) return { status: "wrong" };
  return row.disabledAt ? { status: "disabled" } : { status: "ok", user: toPublicUser(row) };
}

/** Whom a single-sign-on identity stands for: never a new account (no self-registration). */
export type SsoMatch = { status: "ok"; user: PublicUser } | { status: "unverified" } | { status: "no_account" } | { status: "disabled" };

/**
 * Matches an OpenID Connect identity to an existing account by its email, only when the identity
 * provider says it verified that email; a disabled account is refused like at the password form.
 */
export async function matchSsoUser(db: DbOrTx, claims: { email?: unknown; email_verified?: unknown }): Promise<SsoMatch> {
  if (typeof claims.email !== "string" || claims.email.length === 0 || claims.email.length > 320) return { status: "unverified" };
  if (claims.email_verified !== true) return { status: "unverified" };
  const row = await findUserByEmail(db, claims.email);
  if (!row) return { status: "no_account" };
  return row.disabledAt ? { status: "disabled" } : { status: "ok", user: toPublicUser(row) };
}

/** Returns the user when the password matches and the account is not disabled. */
export async function authenticateUser(db: DbOrTx, email: string, password: string): Promise<PublicUser | null> {
  const check = await checkCredentials(db, email, password);
  return check.status === "ok" ? check.user : null;
}

export async function addInstitutionMember(
  db: DbOrTx,
  input: { institutionId: string; userId: string; role: "admin" | "member" },
): Promise<void> {
  await db
    .insert(institutionMember)
    .values(input)
    .onConflictDoUpdate({ target: [institutionMember.institutionId, institutionMember.userId], set: { role: input.role } });
}

function toPublicUser(row: typeof user.$inferSelect): PublicUser {
  return { id: row.id, email: row.email, name: row.name, isSystemAdmin: row.isSystemAdmin };
}

/** A user as the admin pages list them: never the password hash. */
export type AdminUserRow = {
  id: string;
  email: string;
  name: string;
  isSystemAdmin: boolean;
  disabled: boolean;
  passwordChangeRequired: boolean;
  createdAt: Date;
  membershipCount: number;
};

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Users by email, optionally filtered by a case-insensitive substring of email or name; one page plus the total. */
export async function listUsersForAdmin(
  db: DbOrTx,
  input: { search?: string; offset: number; limit: number },
): Promise<{ items: AdminUserRow[]; total: number }> {
  const search = input.search?.trim();
  const pattern = search ? `%${escapeLike(search)}%` : null;
  const where = pattern ? or(ilike(user.email, pattern), ilike(user.name, pattern)) : undefined;
  const memberships = db
    .select({ userId: membership.userId, n: count().as("n") })
    .from(membership)
    .groupBy(membership.userId)
    .as("memberships");
  const [rows, [total]] = await Promise.all([
    db
      .select({
        id: user.id,
        email: user.email,
        name: user.name,
        isSystemAdmin: user.isSystemAdmin,
        disabledAt: user.disabledAt,
        passwordChangeRequired: user.passwordChangeRequired,
        createdAt: user.createdAt,
        membershipCount: sql<number>`coalesce(${memberships.n}, 0)::int`,
      })
      .from(user)
      .leftJoin(memberships, eq(memberships.userId, user.id))
      .where(where)
      .orderBy(asc(user.email))
      .offset(input.offset)
      .limit(input.limit),
    db.select({ n: count() }).from(user).where(where),
  ]);
  return {
    items: rows.map(({ disabledAt, ...row }) => ({ ...row, disabled: disabledAt !== null })),
    total: total?.n ?? 0,
  };
}
