import type { Metadata } from "next";
import Link from "next/link";
import type { ReactNode } from "react";
import { signOut } from "../auth";
import { getSessionState } from "../server/session";
import "./globals.css";
import { Providers } from "./providers";

export const metadata: Metadata = {
  title: { default: "HemaLoop", template: "%s · HemaLoop" },
  description: "Blood-cell image labeling, training and review",
};

async function signOutAction() {
  "use server";
  await signOut({ redirectTo: "/sign-in" });
}

export default async function RootLayout({ children }: { children: ReactNode }) {
  // The database's view, not the cookie's: a disabled user is not shown as signed in.
  const session = await getSessionState();
  return (
    <html lang="en">
      <body>
        <header className="topbar">
          <Link href="/">HemaLoop</Link>
          <span className="spacer" />
          {session.status === "active" ? (
            <>
              {session.user.isSystemAdmin && !session.user.passwordChangeRequired ? (
                <Link href="/admin" data-testid="admin-link">
                  Admin
                </Link>
              ) : null}
              <Link href="/account/password" className="topbar-user" data-testid="current-user" title="Change password">
                {session.user.name || session.user.email}
              </Link>
              <form action={signOutAction}>
                <button type="submit">Sign out</button>
              </form>
            </>
          ) : null}
        </header>
        <Providers>{children}</Providers>
      </body>
    </html>
  );
}
