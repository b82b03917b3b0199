import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { getEnv } from "../../env";
import { decideSignInPage, describeSignInRefusal } from "../../server/session-state";
import { getSessionState } from "../../server/session";
import { signInWithSsoAction } from "./actions";
import { SignInForm } from "./sign-in-form";

export const metadata: Metadata = { title: "Sign in" };

export default async function SignInPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const page = decideSignInPage(await getSessionState(), params);
  if ("redirectTo" in page) redirect(page.redirectTo);
  const refusal = page.disabled ? null : describeSignInRefusal(params);
  const { oidc } = getEnv();
  return (
    <main>
      <div className="panel signin">
        <h1>Sign in to HemaLoop</h1>
        {page.disabled ? (
          <p role="alert" className="error" data-testid="account-disabled">
            Your account has been disabled. Ask your administrator to enable it, or sign in with another account.
          </p>
        ) : (
          <p className="muted small">Use the account your project lead gave you.</p>
        )}
        {refusal ? (
          <p role="alert" className="error" data-testid="sign-in-refused">
            {refusal}
          </p>
        ) : null}
        <SignInForm callbackUrl={page.callbackUrl} />
        {oidc ? (
          <form action={signInWithSsoAction}>
            <input type="hidden" name="callbackUrl" value={page.callbackUrl} />
            <button type="submit" data-testid="sign-in-sso">
              Continue with {oidc.name}
            </button>
          </form>
        ) : null}
      </div>
    </main>
  );
}
