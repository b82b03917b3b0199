// A real OpenID Connect provider (the `oidc-provider` package) for hardening.spec.ts, with its built-in
// development login page: any login is accepted and becomes the subject and the email; a login that starts
// with "unverified." is reported with email_verified: false.
import { createServer } from "node:http";
import Provider from "oidc-provider";

export const OIDC_PORT = Number(process.env.E2E_OIDC_PORT ?? 3218);
export const OIDC_CLIENT = { clientId: "hemaloop-e2e", clientSecret: "hemaloop-e2e-client-secret-0123456789" };

/** @param {{ port?: number; appOrigin: string }} options */
export async function startOidcProvider({ port = OIDC_PORT, appOrigin }) {
  const issuer = `http://localhost:${port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: OIDC_CLIENT.clientId,
        client_secret: OIDC_CLIENT.clientSecret,
        redirect_uris: [`${appOrigin}/api/auth/callback/oidc`],
        grant_types: ["authorization_code"],
        response_types: ["code"],
      },
    ],
    cookies: { keys: ["hemaloop-e2e-oidc-cookie-key"] },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    // Auth.js reads the profile from the ID token.
    conformIdTokenClaims: false,
    async findAccount(_ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          const email = sub.replace(/^unverified\./, "");
          return { sub, email, email_verified: !sub.startsWith("unverified."), name: `IdP name of ${email}` };
        },
      };
    },
  });
  provider.on("server_error", (_ctx, error) => console.error("[oidc-provider]", error));
  const server = createServer(provider.callback());
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, () => resolve(undefined)); // all interfaces: "localhost" may resolve to ::1 or 127.0.0.1
  });
  return { issuer, close: () => new Promise((resolve) => server.close(() => resolve(undefined))) };
}
