import type { NextAuthConfig } from "next-auth";
import { getEnv } from "./env";
import { resolveAuthRedirect } from "./server/callback-url";

/** CredentialsSignin code of a sign-in refused because the account is disabled. */
export const ACCOUNT_DISABLED_CODE = "account_disabled";
/** CredentialsSignin code of a try refused unchecked after too many failures (HTTP 429 on the Auth.js endpoint). */
export const RATE_LIMITED_CODE = "rate_limited";
/** Auth.js id of the one OpenID Connect provider (HEMALOOP_OIDC_*). */
export const OIDC_PROVIDER_ID = "oidc";

/**
 * The part of the Auth.js configuration that needs no database: shared by proxy.ts (which only
 * decodes the session cookie) and auth.ts (which adds the credentials provider).
 */
export function baseAuthConfig(): NextAuthConfig {
  const env = getEnv();
  return {
    secret: env.authSecret,
    trustHost: env.trustHost,
    // Credentials-only Auth.js requires JWT sessions (database sessions are rejected).
    session: { strategy: "jwt", maxAge: 7 * 24 * 60 * 60 },
    pages: { signIn: "/sign-in", error: "/sign-in" },
    logger: {
      // A wrong password is an expected outcome, not a server error with a stack trace.
      error(error) {
        // AuthError.type survives minification (the class name does not)
        if ((error as { type?: string }).type === "CredentialsSignin") console.warn("[auth] sign-in refused: wrong email or password");
        else console.error("[auth]", error);
      },
    },
    providers: [],
    callbacks: {
      redirect({ url, baseUrl }) {
        return resolveAuthRedirect(url, baseUrl);
      },
      jwt({ token, user }) {
        if (user) {
          token.uid = user.id;
          token.isSystemAdmin = Boolean((user as { isSystemAdmin?: boolean }).isSystemAdmin);
        }
        return token;
      },
      // Map fields explicitly: the session never carries anything but these four.
      session({ session, token }) {
        return {
          ...session,
          user: {
            id: typeof token.uid === "string" ? token.uid : "",
            email: token.email ?? "",
            name: token.name ?? "",
            isSystemAdmin: token.isSystemAdmin === true,
          },
        };
      },
    },
  };
}
