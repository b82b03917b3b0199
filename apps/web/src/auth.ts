import { checkCredentials, matchSsoUser } from "@hemaloop/db/queries";
import NextAuth, { CredentialsSignin } from "next-auth";
import Credentials from "next-auth/providers/credentials";
import { z } from "zod";
import { ACCOUNT_DISABLED_CODE, baseAuthConfig, OIDC_PROVIDER_ID, RATE_LIMITED_CODE } from "./auth.config";
import { getEnv } from "./env";
import { getDb } from "./server/db";
import { clientAddress, getSignInLimiter } from "./server/sign-in-limit";

const credentialsSchema = z.object({
  email: z.email().max(320),
  password: z.string().min(1).max(1024),
});

/** The password was right but the account is disabled: the sign-in form says so instead of "wrong password". */
export class AccountDisabledSignin extends CredentialsSignin {
  override code = ACCOUNT_DISABLED_CODE;
}

/** Too many failed sign-ins for this account or address: refused before the password is checked. */
export class RateLimitedSignin extends CredentialsSignin {
  override code = RATE_LIMITED_CODE;
}

/** Lazy config: the environment and the database are touched on the first request, not at build. */
export const { handlers, auth, signIn, signOut } = NextAuth(() => {
  const base = baseAuthConfig();
  const { oidc } = getEnv();
  const baseJwt = base.callbacks!.jwt!;
  return {
    ...base,
    callbacks: {
      ...base.callbacks,
      // Single sign-on never creates accounts: the IdP's verified email must name an enabled user here.
      async signIn({ account, profile }) {
        if (account?.provider !== OIDC_PROVIDER_ID) return true;
        const match = await matchSsoUser(await getDb(), profile ?? {});
        return match.status === "ok" ? true : `/sign-in?reason=sso_${match.status}`;
      },
      async jwt(params) {
        if (params.account?.provider !== OIDC_PROVIDER_ID) return baseJwt(params);
        const match = await matchSsoUser(await getDb(), params.profile ?? {});
        if (match.status !== "ok") throw new Error(`single sign-on refused: ${match.status}`); // signIn refused it already
        const token = await baseJwt({ ...params, user: match.user });
        // Our account's name and email, not the IdP's (the session shows who this is here).
        return { ...token, sub: match.user.id, email: match.user.email, name: match.user.name };
      },
    },
    providers: [
      ...(oidc
        ? [
            {
              id: OIDC_PROVIDER_ID,
              name: oidc.name,
              type: "oidc" as const,
              issuer: oidc.issuer,
              clientId: oidc.clientId,
              clientSecret: oidc.clientSecret,
              checks: ["pkce" as const, "state" as const, "nonce" as const],
            },
          ]
        : []),
      Credentials({
        credentials: { email: { label: "Email", type: "email" }, password: { label: "Password", type: "password" } },
        async authorize(raw, request) {
          const parsed = credentialsSchema.safeParse(raw);
          if (!parsed.success) return null;
          const { email, password } = parsed.data;
          const limiter = await getSignInLimiter();
          const ip = clientAddress(request.headers);
          if (!(await limiter.check(email, ip)).allowed) throw new RateLimitedSignin();
          const check = await checkCredentials(await getDb(), email, password);
          if (check.status === "wrong") {
            await limiter.recordFailure(email, ip);
            return null;
          }
          await limiter.recordSuccess(email);
          if (check.status === "disabled") throw new AccountDisabledSignin();
          const { user } = check;
          return { id: user.id, email: user.email, name: user.name, isSystemAdmin: user.isSystemAdmin };
        },
      }),
    ],
  };
});
