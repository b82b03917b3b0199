"use client";

import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { useTRPC } from "../../../trpc/client";
import { formText } from "../../form-text";
import { OneTimePassword } from "../one-time-password";

/** New user: a password the admin sets (12+ characters), or empty for a generated one-time password shown once. */
export function CreateUserForm() {
  const trpc = useTRPC();
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [shown, setShown] = useState<{ email: string; password: string } | null>(null);
  const create = useMutation(
    trpc.admin.users.create.mutationOptions({
      onSuccess: (created) => {
        setError(null);
        setShown(created.oneTimePassword ? { email: created.email, password: created.oneTimePassword } : null);
        router.refresh();
      },
      onError: (e) => setError(e.message),
    }),
  );
  return (
    <>
      <form
        className="admin-form"
        aria-label="New user"
        onSubmit={(event) => {
          event.preventDefault();
          const form = event.currentTarget;
          const data = new FormData(form);
          const password = formText(data, "password");
          create.mutate(
            {
              email: formText(data, "email").trim(),
              name: formText(data, "name"),
              isSystemAdmin: data.get("isSystemAdmin") === "on",
              password: password ? password : undefined,
            },
            { onSuccess: () => form.reset() },
          );
        }}
      >
        <label>
          Email
          <input name="email" type="email" required maxLength={320} />
        </label>
        <label>
          Name
          <input name="name" required maxLength={200} />
        </label>
        <label>
          Password (empty = one-time password)
          <input name="password" type="password" minLength={12} maxLength={1024} autoComplete="new-password" />
        </label>
        <label className="inline">
          <input name="isSystemAdmin" type="checkbox" /> System admin
        </label>
        <button type="submit" className="primary" disabled={create.isPending}>
          {create.isPending ? "Creating…" : "Create user"}
        </button>
      </form>
      {error ? (
        <p className="error small" role="alert">
          {error}
        </p>
      ) : null}
      {shown ? <OneTimePassword email={shown.email} password={shown.password} onDismiss={() => setShown(null)} /> : null}
    </>
  );
}
