import { cache } from "react";
import { auth } from "../auth";
import { getDb } from "./db";
import { fullyActiveUserOf, resolveSessionState, sessionUserOf, type SessionState } from "./session-state";
import type { SessionUser } from "./trpc/init";

/**
 * The session as the database sees it, re-read on every request (once per request in server
 * components) so a disabled or deleted account, or a revoked system-admin flag, takes effect at once.
 */
export const getSessionState = cache(async (): Promise<SessionState> => {
  const session = await auth();
  return resolveSessionState(await getDb(), session?.user?.id);
});

/** The signed-in, active user for plain API routes; null when signed out, disabled or still on a one-time password. */
export async function getSessionUser(): Promise<SessionUser | null> {
  return fullyActiveUserOf(await getSessionState());
}

/** The user tRPC procedures see (the middleware refuses a pending password change everywhere but the change itself). */
export async function getTrpcSessionUser(): Promise<SessionUser | null> {
  return sessionUserOf(await getSessionState());
}
