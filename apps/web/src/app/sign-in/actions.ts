"use server";

import { AuthError, CredentialsSignin } from "next-auth";
import { headers } from "next/headers";
import { ACCOUNT_DISABLED_CODE, OIDC_PROVIDER_ID, RATE_LIMITED_CODE } from "../../auth.config";
import { signIn } from "../../auth";
import { safeCallbackUrl } from "../../server/callback-url";
import { clientAddress, describeSignInLock, getSignInLimiter } from "../../server/sign-in-limit";

export type SignInState = { error: string | null; email: string };

/** A text field of the form; a file posted under that name reads as empty, not as "[object File]". */
function formText(formData: FormData, name: string): string {
  const value = formData.get(name);
  return typeof value === "string" ? value : "";
}

export async function signInAction(_prev: SignInState, formData: FormData): Promise<SignInState> {
  const email = formText(formData, "email").trim();
  const password = formText(formData, "password");
  if (!email || !password) return { error: "Enter your email and password.", email };
  try {
    await signIn("credentials", { email, password, redirectTo: safeCallbackUrl(formData.get("callbackUrl")) });
  } catch (error) {
    // A successful sign-in throws Next's redirect, which must propagate.
    if (error instanceof CredentialsSignin && error.code === ACCOUNT_DISABLED_CODE) {
      return { error: "Your account has been disabled. Ask your administrator to enable it.", email };
    }
    if (error instanceof CredentialsSignin && error.code === RATE_LIMITED_CODE) {
      // Auth.js passes on only the code: read the wait again (check() consumes nothing).
      const gate = await (await getSignInLimiter()).check(email, clientAddress(await headers()));
      return { error: describeSignInLock(gate.allowed ? 1 : gate.retryAfterSeconds), email };
    }
    if (error instanceof AuthError) {
      return { error: error.type === "CredentialsSignin" ? "Wrong email or password." : "Sign-in failed. Try again.", email };
    }
    throw error;
  }
  return { error: null, email };
}

/** Starts single sign-on with the configured OpenID Connect provider (Auth.js redirects to it). */
export async function signInWithSsoAction(formData: FormData): Promise<void> {
  await signIn(OIDC_PROVIDER_ID, { redirectTo: safeCallbackUrl(formData.get("callbackUrl")) });
}
