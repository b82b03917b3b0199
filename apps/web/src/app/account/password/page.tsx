import type { Metadata } from "next";
import Link from "next/link";
import { load, serverApi } from "../../../trpc/server";
import { ChangePasswordForm } from "./change-password-form";

export const metadata: Metadata = { title: "Change password" };
export const dynamic = "force-dynamic";

export default async function ChangePasswordPage() {
  const api = await serverApi();
  const me = await load(() => api.account.me());
  return (
    <main>
      {me.passwordChangeRequired ? null : (
        <div className="crumbs">
          <Link href="/">My projects</Link> / Change password
        </div>
      )}
      <div className="signin">
        <h1>Change password</h1>
        {me.passwordChangeRequired ? (
          <p className="notice" data-testid="password-change-required">
            You signed in with a one-time password. Choose your own password to continue.
          </p>
        ) : null}
        <ChangePasswordForm required={me.passwordChangeRequired} />
      </div>
    </main>
  );
}
