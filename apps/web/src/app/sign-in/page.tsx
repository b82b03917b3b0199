import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { auth } from "../../auth";
import { SignInForm } from "./sign-in-form";

export const metadata: Metadata = { title: "Sign in" };

export default async function SignInPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const callbackUrl = typeof params.callbackUrl === "string" ? params.callbackUrl : "/";
  const session = await auth();
  if (session?.user?.id) redirect(callbackUrl.startsWith("/") && !callbackUrl.startsWith("//") ? callbackUrl : "/");
  return (
    <main>
      <div className="panel signin">
        <h1>Sign in to HemaLoop</h1>
        <p className="muted small">Use the account your project lead gave you.</p>
        <SignInForm callbackUrl={callbackUrl} />
      </div>
    </main>
  );
}
