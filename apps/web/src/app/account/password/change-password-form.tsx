"use client";

import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { useTRPC } from "../../../trpc/client";
import { formText } from "../../form-text";

const MIN_LENGTH = 12;

/** Current + new password (twice); after a forced change the user goes on to the app. */
export function ChangePasswordForm({ required }: { required: boolean }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const change = useMutation(
    trpc.account.changePassword.mutationOptions({
      onSuccess: () => {
        setError(null);
        if (required) {
          router.replace("/");
          router.refresh();
        } else setDone(true);
      },
      onError: (e) => setError(e.message),
    }),
  );
  return (
    <form
      aria-label="Change password"
      onSubmit={(event) => {
        event.preventDefault();
        const form = event.currentTarget;
        const data = new FormData(form);
        const newPassword = formText(data, "newPassword");
        if (newPassword.length < MIN_LENGTH) return setError(`The new password must have at least ${MIN_LENGTH} characters.`);
        if (newPassword !== formText(data, "confirmPassword")) return setError("The new passwords do not match.");
        setDone(false);
        change.mutate({ currentPassword: formText(data, "currentPassword"), newPassword }, { onSuccess: () => form.reset() });
      }}
    >
      <label>
        Current password
        <input name="currentPassword" type="password" autoComplete="current-password" required />
      </label>
      <label>
        New password
        <input name="newPassword" type="password" autoComplete="new-password" required minLength={MIN_LENGTH} maxLength={1024} />
      </label>
      <label>
        Repeat new password
        <input name="confirmPassword" type="password" autoComplete="new-password" required minLength={MIN_LENGTH} maxLength={1024} />
      </label>
      {error ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : null}
      {done ? (
        <p role="status" className="notice">
          Your password was changed.
        </p>
      ) : null}
      <button className="primary" type="submit" disabled={change.isPending}>
        {change.isPending ? "Saving…" : "Change password"}
      </button>
    </form>
  );
}
