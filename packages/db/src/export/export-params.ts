import { eq, or } from "drizzle-orm";
import { z } from "zod";
import type { DbOrTx } from "../client";
import { InvalidInputError, NotFoundError } from "../errors";
import { dataset } from "../schema";
import type { ExportLabelChoice } from "./collect-export-cells";

/** `imported | consensus | adjudicated | reader:<who>` as the CLI and the download URL write it. */
export const exportLabelsParam = z.union([
  z.enum(["imported", "consensus", "adjudicated"]).transform((kind) => ({ kind })),
  z
    .string()
    .regex(/^reader:.+$/, "expected imported, consensus, adjudicated or reader:<user>")
    .transform((s) => ({ kind: "reader" as const, reader: s.slice("reader:".length) })),
]);

export type ExportLabelsParam = z.infer<typeof exportLabelsParam>;

/** Resolves `reader:<who>` with the caller's lookup (an email on the CLI, a user id on the web). */
export async function toLabelChoice(
  param: ExportLabelsParam,
  findReaderId: (reader: string) => Promise<string | null>,
): Promise<ExportLabelChoice> {
  if (param.kind !== "reader") return { kind: param.kind };
  const readerId = await findReaderId(param.reader);
  if (!readerId) throw new NotFoundError("reader", { reader: param.reader });
  return { kind: "reader", readerId };
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A dataset by id, or by name when that name is unique across institutions. */
export async function findDatasetByIdOrName(db: DbOrTx, idOrName: string): Promise<typeof dataset.$inferSelect> {
  const rows = await db
    .select()
    .from(dataset)
    .where(uuidPattern.test(idOrName) ? or(eq(dataset.id, idOrName), eq(dataset.name, idOrName)) : eq(dataset.name, idOrName));
  if (rows.length === 0) throw new NotFoundError("dataset", { dataset: idOrName });
  if (rows.length > 1) throw new InvalidInputError(`dataset name "${idOrName}" is used by ${rows.length} institutions; give its id`);
  return rows[0]!;
}
