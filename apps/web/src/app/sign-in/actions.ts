"use server";

import { AuthError } from "next-auth";
import { signIn } from "../../auth";

export type SignInState = { error: string | null; email: string };

/** Only same-site relative paths are followed after sign-in (no open redirects). */
function safeCallback(value: FormDataEntryValue | null): string {
  const v = typeof value === "string" ? value : "";
  return v.startsWith("/") && !v.startsWith("//") && !v.startsWith("/\\") ? v : "/";
}

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
    await signIn("credentials", { email, password, redirectTo: safeCallback(formData.get("callbackUrl")) });
  } catch (error) {
    // A successful sign-in throws Next's redirect, which must propagate.
    if (error instanceof AuthError) {
      return { error: error.type === "CredentialsSignin" ? "Wrong email or password." : "Sign-in failed. Try again.", email };
    }
    throw error;
  }
  return { error: null, email };
}
