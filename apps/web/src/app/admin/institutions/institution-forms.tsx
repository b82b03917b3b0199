"use client";

import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { useTRPC } from "../../../trpc/client";
import { formText } from "../../form-text";
import { ConfirmButton } from "../confirm-button";

function useRefreshingHandlers(setError: (message: string | null) => void) {
  const router = useRouter();
  return {
    onSuccess: () => {
      setError(null);
      router.refresh();
    },
    onError: (e: { message: string }) => setError(e.message),
  };
}

function ErrorLine({ error }: { error: string | null }) {
  return error ? (
    <p className="error small" role="alert">
      {error}
    </p>
  ) : null;
}

export function CreateInstitutionForm() {
  const trpc = useTRPC();
  const [error, setError] = useState<string | null>(null);
  const create = useMutation(trpc.admin.institutions.create.mutationOptions(useRefreshingHandlers(setError)));
  return (
    <>
      <form
        className="admin-form"
        aria-label="New institution"
        onSubmit={(event) => {
          event.preventDefault();
          const form = event.currentTarget;
          const data = new FormData(form);
          const country = formText(data, "country").trim();
          create.mutate({ name: formText(data, "name"), country: country || undefined }, { onSuccess: () => form.reset() });
        }}
      >
        <label>
          Name
          <input name="name" required maxLength={200} />
        </label>
        <label>
          Country
          <input name="country" maxLength={100} />
        </label>
        <button type="submit" className="primary" disabled={create.isPending}>
          {create.isPending ? "Creating…" : "Create institution"}
        </button>
      </form>
      <ErrorLine error={error} />
    </>
  );
}

export function AddInstitutionAdminForm({ institutionName }: { institutionName: string }) {
  const trpc = useTRPC();
  const [error, setError] = useState<string | null>(null);
  const add = useMutation(trpc.admin.institutions.addAdmin.mutationOptions(useRefreshingHandlers(setError)));
  return (
    <>
      <form
        className="inline-form"
        aria-label={`Add admin to ${institutionName}`}
        onSubmit={(event) => {
          event.preventDefault();
          const form = event.currentTarget;
          const email = formText(new FormData(form), "email").trim();
          add.mutate({ institutionName, email }, { onSuccess: () => form.reset() });
        }}
      >
        <input name="email" type="email" required placeholder="user email" aria-label="Admin email" maxLength={320} />
        <button type="submit" disabled={add.isPending}>
          Add admin
        </button>
      </form>
      <ErrorLine error={error} />
    </>
  );
}

export function RemoveInstitutionAdminButton({ institutionName, email }: { institutionName: string; email: string }) {
  const trpc = useTRPC();
  const [error, setError] = useState<string | null>(null);
  const remove = useMutation(trpc.admin.institutions.removeAdmin.mutationOptions(useRefreshingHandlers(setError)));
  return (
    <>
      <ConfirmButton
        label="Remove admin"
        question={`${email} stays a member but is no longer an admin of ${institutionName}. Continue?`}
        danger
        pending={remove.isPending}
        onConfirm={() => remove.mutate({ institutionName, email })}
      />
      <ErrorLine error={error} />
    </>
  );
}
