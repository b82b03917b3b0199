"use client";

import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { useTRPC } from "../../../trpc/client";
import { ConfirmButton } from "../confirm-button";
import { OneTimePassword } from "../one-time-password";

/** Disable / enable, reset password (generated, shown once) and system-admin toggle for one user, each confirmed first. */
export function UserActions({ email, disabled, isSystemAdmin }: { email: string; disabled: boolean; isSystemAdmin: boolean }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [oneTime, setOneTime] = useState<string | null>(null);
  const handlers = {
    onSuccess: () => {
      setError(null);
      router.refresh();
    },
    onError: (e: { message: string }) => setError(e.message),
  };
  const disable = useMutation(trpc.admin.users.disable.mutationOptions(handlers));
  const enable = useMutation(trpc.admin.users.enable.mutationOptions(handlers));
  const setAdmin = useMutation(trpc.admin.users.setSystemAdmin.mutationOptions(handlers));
  const reset = useMutation(
    trpc.admin.users.resetPassword.mutationOptions({
      ...handlers,
      onSuccess: (result) => {
        setOneTime(result.oneTimePassword);
        handlers.onSuccess();
      },
    }),
  );
  const pending = disable.isPending || enable.isPending || setAdmin.isPending || reset.isPending;
  return (
    <div className="row-actions">
      {disabled ? (
        <ConfirmButton label="Enable" question={`Enable ${email}?`} pending={pending} onConfirm={() => enable.mutate({ email })} />
      ) : (
        <ConfirmButton
          label="Disable"
          question={`Disable ${email}?`}
          danger
          pending={pending}
          onConfirm={() => disable.mutate({ email })}
        />
      )}
      <ConfirmButton
        label="Reset password"
        question={`Give ${email} a new one-time password?`}
        pending={pending}
        onConfirm={() => reset.mutate({ email })}
      />
      <ConfirmButton
        label={isSystemAdmin ? "Revoke admin" : "Make admin"}
        question={isSystemAdmin ? `Revoke system admin from ${email}?` : `Make ${email} a system admin?`}
        danger={isSystemAdmin}
        pending={pending}
        onConfirm={() => setAdmin.mutate({ email, isSystemAdmin: !isSystemAdmin })}
      />
      {error ? (
        <p className="error small" role="alert">
          {error}
        </p>
      ) : null}
      {oneTime ? <OneTimePassword email={email} password={oneTime} onDismiss={() => setOneTime(null)} /> : null}
    </div>
  );
}
