import { customType, timestamp, uuid } from "drizzle-orm/pg-core";

// Shared column builders so every table gets the same id and audit timestamps.
export const id = () => uuid().primaryKey().defaultRandom();
export const createdAt = () => timestamp({ withTimezone: true }).notNull().defaultNow();
export const updatedAt = () =>
  timestamp({ withTimezone: true })
    .notNull()
    .defaultNow()
    .$onUpdate(() => new Date());

/**
 * PostgreSQL bytea as a Uint8Array. postgres-js hands back a Buffer and PGlite a Uint8Array; both are
 * normalised to a plain Uint8Array view so callers see one type.
 */
export const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => "bytea",
  toDriver: (value) => value,
  fromDriver: (value) => new Uint8Array(value.buffer, value.byteOffset, value.byteLength),
});
