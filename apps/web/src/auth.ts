import { authenticateUser } from "@hemaloop/db/queries";
import NextAuth from "next-auth";
import Credentials from "next-auth/providers/credentials";
import { z } from "zod";
import { baseAuthConfig } from "./auth.config";
import { getDb } from "./server/db";

const credentialsSchema = z.object({
  email: z.email().max(320),
  password: z.string().min(1).max(1024),
});

/** Lazy config: the environment and the database are touched on the first request, not at build. */
export const { handlers, auth, signIn, signOut } = NextAuth(() => {
  const base = baseAuthConfig();
  return {
    ...base,
    providers: [
      Credentials({
        credentials: { email: { label: "Email", type: "email" }, password: { label: "Password", type: "password" } },
        async authorize(raw) {
          const parsed = credentialsSchema.safeParse(raw);
          if (!parsed.success) return null;
          const user = await authenticateUser(await getDb(), parsed.data.email, parsed.data.password);
          if (!user) return null;
          return { id: user.id, email: user.email, name: user.name, isSystemAdmin: user.isSystemAdmin };
        },
      }),
    ],
  };
});
