"use client";

import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { formText } from "../../form-text";
import { useTRPC } from "../../../trpc/client";

type Props = {
  schemes: Array<{ key: string; name: string }>;
  datasets: Array<{ id: string; name: string; institution: string }>;
};

/** New project: slug, name, class scheme, description and the datasets to start with. */
export function NewProjectForm({ schemes, datasets }: Props) {
  const trpc = useTRPC();
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const create = useMutation(
    trpc.project.create.mutationOptions({
      onSuccess: (p) => router.push(`/projects/${p.slug}`),
      onError: (e) => setError(e.message),
    }),
  );
  return (
    <form
      className="panel stack"
      data-testid="new-project-form"
      onSubmit={(e) => {
        e.preventDefault();
        const form = new FormData(e.currentTarget);
        setError(null);
        create.mutate({
          slug: formText(form, "slug"),
          name: formText(form, "name"),
          schemeKey: formText(form, "scheme"),
          description: formText(form, "description") || undefined,
          datasetIds: form.getAll("datasets").map(String),
        });
      }}
    >
      <label>
        Name <input name="name" required maxLength={200} />
      </label>
      <label>
        Slug (in the address: lower-case letters, digits, hyphens){" "}
        <input name="slug" required pattern="[a-z0-9]+(-[a-z0-9]+)*" maxLength={100} />
      </label>
      <label>
        Class scheme{" "}
        <select name="scheme" required defaultValue={schemes[0]?.key}>
          {schemes.map((s) => (
            <option key={s.key} value={s.key}>
              {s.name} ({s.key})
            </option>
          ))}
        </select>
      </label>
      <label>
        Description <textarea name="description" maxLength={2000} rows={3} />
      </label>
      <fieldset>
        <legend>Datasets</legend>
        {datasets.length === 0 ? <p className="muted small">No dataset you may attach yet.</p> : null}
        {datasets.map((d) => (
          <label key={d.id} className="small" style={{ display: "block" }}>
            <input type="checkbox" name="datasets" value={d.id} /> {d.name} <span className="muted">({d.institution})</span>
          </label>
        ))}
      </fieldset>
      <button type="submit" className="primary" disabled={create.isPending}>
        {create.isPending ? "Creating…" : "Create project"}
      </button>
      {error ? (
        <p className="error small" role="alert">
          {error}
        </p>
      ) : null}
    </form>
  );
}
