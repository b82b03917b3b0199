"use client";

import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { formText } from "../../../form-text";
import { useTRPC } from "../../../../trpc/client";

const roles = ["annotator", "reviewer", "lead", "admin"] as const;
type Role = (typeof roles)[number];

function RoleSelect(props: { name?: string; value?: Role; onChange?: (r: Role) => void; disabled?: boolean; label: string }) {
  return (
    <select
      name={props.name}
      aria-label={props.label}
      defaultValue={props.value ?? "annotator"}
      disabled={props.disabled}
      onChange={props.onChange ? (e) => props.onChange!(e.target.value as Role) : undefined}
    >
      {roles.map((r) => (
        <option key={r} value={r}>
          {r}
        </option>
      ))}
    </select>
  );
}

/** The member table with role changes and removal, and the add-by-email form (project admins). */
export function MemberManager(props: {
  projectId: string;
  members: Array<{ email: string; name: string; role: Role; disabled: boolean }>;
  editable: boolean;
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const done = {
    onSuccess: () => {
      setError(null);
      router.refresh();
    },
    onError: (e: { message: string }) => setError(e.message),
  };
  const add = useMutation(trpc.member.add.mutationOptions(done));
  const change = useMutation(trpc.member.changeRole.mutationOptions(done));
  const remove = useMutation(trpc.member.remove.mutationOptions(done));
  const { projectId } = props;
  return (
    <div className="stack">
      <table className="data" data-testid="members">
        <thead>
          <tr>
            <th>Member</th>
            <th>Role</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {props.members.map((m) => (
            <tr key={m.email} data-testid={`member-${m.email}`}>
              <td>
                {m.name} <span className="muted small">{m.email}</span>
                {m.disabled ? <span className="muted small"> (disabled)</span> : null}
              </td>
              <td>
                <RoleSelect
                  label={`Role of ${m.email}`}
                  value={m.role}
                  disabled={!props.editable || change.isPending}
                  onChange={(role) => change.mutate({ projectId, email: m.email, role })}
                />
              </td>
              <td>
                {props.editable ? (
                  <button type="button" disabled={remove.isPending} onClick={() => remove.mutate({ projectId, email: m.email })}>
                    Remove
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {props.editable ? (
        <form
          data-testid="add-member"
          onSubmit={(e) => {
            e.preventDefault();
            const form = new FormData(e.currentTarget);
            add.mutate({ projectId, email: formText(form, "email"), role: formText(form, "role") as Role });
          }}
        >
          <input name="email" type="email" placeholder="email of an existing user" aria-label="Email" required />{" "}
          <RoleSelect name="role" label="Role" />{" "}
          <button type="submit" className="primary" disabled={add.isPending}>
            Add member
          </button>
        </form>
      ) : null}
      {error ? (
        <p className="error small" role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}
