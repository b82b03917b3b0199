import type { DefaultSession } from "next-auth";

declare module "next-auth" {
  interface Session {
    user: { id: string; email: string; name: string; isSystemAdmin: boolean } & Omit<DefaultSession["user"], "id" | "email" | "name">;
  }
  interface User {
    isSystemAdmin?: boolean;
  }
}

declare module "@auth/core/jwt" {
  interface JWT {
    uid?: string;
    isSystemAdmin?: boolean;
  }
}
