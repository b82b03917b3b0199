export const OIDC_PORT: number;
export const OIDC_CLIENT: { clientId: string; clientSecret: string };
export function startOidcProvider(options: { port?: number; appOrigin: string }): Promise<{ issuer: string; close: () => Promise<void> }>;
