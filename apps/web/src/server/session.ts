import { getPublicUserById } from "@hemaloop/db/queries";
import { auth } from "../auth";
import { getDb } from "./db";
import type { SessionUser } from "./trpc/init";

/**
 * The signed-in user, re-read from the database so a deleted account or a revoked system-admin flag
 * takes effect at once (the JWT only names the user). null when signed out.
 */
export async function getSessionUser(): Promise<SessionUser | null> {
  const session = await auth();
  const id = session?.user?.id;
  if (!id) return null;
  return getPublicUserById(await getDb(), id);
}
