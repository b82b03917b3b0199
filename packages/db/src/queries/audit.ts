import type { DbOrTx } from "../client";
import { auditEvent } from "../schema";

export type AuditInput = {
  actorId: string | null;
  action: string;
  entityType: string;
  entityId: string;
  before?: unknown;
  after?: unknown;
};

export async function recordAudit(db: DbOrTx, input: AuditInput): Promise<void> {
  await db.insert(auditEvent).values({ ...input, before: input.before ?? null, after: input.after ?? null });
}
