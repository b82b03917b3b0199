import { boolean, index, integer, pgEnum, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, updatedAt } from "./columns";

export const institutionRole = pgEnum("institution_role", ["admin", "member"]);

export const institution = pgTable(
  "institution",
  {
    id: id(),
    name: text().notNull(),
    country: text(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("institution_name_uq").on(t.name)],
);

export const user = pgTable(
  "user",
  {
    id: id(),
    email: text().notNull(),
    name: text().notNull(),
    // scrypt hash "salt:hash" (hex); null for accounts that cannot sign in with a password (system users)
    passwordHash: text(),
    isSystemAdmin: boolean().notNull().default(false),
    // Users are disabled, never deleted: their labels, label history and audit trail keep pointing at them.
    // null = active; a disabled user cannot sign in and their existing session stops on its next request.
    disabledAt: timestamp({ withTimezone: true }),
    // Set when an admin gave the user a generated one-time password: until they choose their own, the
    // session only reaches the change-password page (checked on every request, not just in the UI).
    passwordChangeRequired: boolean().notNull().default(false),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("user_email_uq").on(t.email)],
);

/** Institution admins decide who can see their datasets. */
export const institutionMember = pgTable(
  "institution_member",
  {
    institutionId: uuid()
      .notNull()
      .references(() => institution.id, { onDelete: "cascade" }),
    userId: uuid()
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    role: institutionRole().notNull().default("member"),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ name: "institution_member_pk", columns: [t.institutionId, t.userId] }),
    index("institution_member_user_idx").on(t.userId),
  ],
);

/**
 * Failed sign-in counters (rate-limiter-flexible's Drizzle store: columns key, points, expire). Kept in
 * PostgreSQL so every web replica sees the same counts; rows past `expire` are dead and swept by the limiter.
 */
export const signInAttempt = pgTable(
  "sign_in_attempt",
  {
    key: text().primaryKey(),
    points: integer().notNull().default(0),
    expire: timestamp({ withTimezone: true }),
  },
  (t) => [index("sign_in_attempt_expire_idx").on(t.expire)],
);
