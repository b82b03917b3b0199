import { cache } from "react";
import { auth } from "../auth";
import { getDb } from "./db";
import { resolveSessionState, sessionUserOf, type SessionState } from "./session-state";
import type { SessionUser } from "./trpc/init";

/**
 * The session as the database sees it, re-read on every request (once per request in server
 * components) so a disabled or deleted account, or a revoked system-admin flag, takes effect at once.
 */
export const getSessionState = cache(async (): Promise<SessionState> => {
  const session = await auth();
  return resolveSessionState(await getDb(), session?.user?.id);
});

/** The signed-in, active user; null when signed out or disabled. */
export async function getSessionUser(): Promise<SessionUser | null> {
  return sessionUserOf(await getSessionState());
}
