import type { Metadata } from "next";
import Link from "next/link";
import type { ReactNode } from "react";
import { auth, signOut } from "../auth";
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
  const session = await auth();
  return (
    <html lang="en">
      <body>
        <header className="topbar">
          <Link href="/">HemaLoop</Link>
          <span className="spacer" />
          {session?.user?.id ? (
            <>
              <span data-testid="current-user">{session.user.name || session.user.email}</span>
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
