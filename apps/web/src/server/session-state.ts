import type { DbOrTx } from "@hemaloop/db/client";
import { loadSessionUserState, type SessionUserState } from "@hemaloop/db/queries";
import { safeCallbackUrl } from "./callback-url";
import type { SessionUser } from "./trpc/init";

/** signed-out: no session cookie; disabled: the cookie names a user who is disabled or no longer exists. */
export type SessionState = { status: "signed-out" } | SessionUserState;

/** What the session's user id stands for on this request: the JWT only names a user, the database decides. */
export async function resolveSessionState(db: DbOrTx, userId: string | null | undefined): Promise<SessionState> {
  if (!userId) return { status: "signed-out" };
  return loadSessionUserState(db, userId);
}

/**
 * The user procedures see: a disabled user is treated as signed out (UNAUTHORIZED); one who still has a
 * one-time password keeps the flag, and every procedure but the password change refuses them.
 */
export function sessionUserOf(state: SessionState): SessionUser | null {
  return state.status === "active" ? state.user : null;
}

/** The user plain API routes (files, exports, downloads) see: nobody until a one-time password is replaced. */
export function fullyActiveUserOf(state: SessionState): SessionUser | null {
  return state.status === "active" && !state.user.passwordChangeRequired ? state.user : null;
}

export const CHANGE_PASSWORD_PATH = "/account/password";

/** Where a page request goes instead, while the session's user must still replace a one-time password. */
export function passwordChangeRedirect(state: SessionState): string | null {
  return state.status === "active" && state.user.passwordChangeRequired ? CHANGE_PASSWORD_PATH : null;
}

export const DISABLED_SIGN_IN_PATH = "/sign-in?reason=disabled";

/**
 * The sign-in page: an active session goes on to its callback; a disabled one stays here and is told why
 * (sending it on would bounce it straight back: the redirect loop of a JWT whose user is gone).
 */
export function decideSignInPage(
  state: SessionState,
  params: { callbackUrl?: unknown; reason?: unknown },
): { redirectTo: string } | { callbackUrl: string; disabled: boolean } {
  const callbackUrl = safeCallbackUrl(params.callbackUrl);
  if (state.status === "active") return { redirectTo: callbackUrl };
  return { callbackUrl, disabled: state.status === "disabled" || params.reason === "disabled" };
}

/** Why single sign-on was refused (the `reason` the Auth.js signIn callback sends back), in words; null if none. */
export function describeSignInRefusal(params: { reason?: unknown; error?: unknown }): string | null {
  switch (params.reason) {
    case "sso_no_account":
      return "No HemaLoop account has the email your organisation's sign-in gave. Ask your administrator to add you; accounts are not created by signing in.";
    case "sso_unverified":
      return "Your organisation's sign-in did not confirm your email address, so it cannot be matched to a HemaLoop account.";
    case "sso_disabled":
      return "Your account has been disabled. Ask your administrator to enable it.";
  }
  return typeof params.error === "string" && params.error.length > 0 ? "Sign-in failed. Try again." : null;
}
