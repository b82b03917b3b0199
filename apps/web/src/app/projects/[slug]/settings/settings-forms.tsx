"use client";

import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { ROUND_DEFAULTS } from "@hemaloop/ml/contracts";
import { formText } from "../../../form-text";
import { useTRPC } from "../../../../trpc/client";

function ErrorLine({ error }: { error: string | null }) {
  return error ? (
    <p className="error small" role="alert">
      {error}
    </p>
  ) : null;
}

/** Name and description (admins; read-only for leads and while archived). */
export function DetailsForm(props: { projectId: string; name: string; description: string | null; editable: boolean }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const update = useMutation(
    trpc.project.update.mutationOptions({ onSuccess: () => router.refresh(), onError: (e) => setError(e.message) }),
  );
  return (
    <form
      className="stack"
      onSubmit={(e) => {
        e.preventDefault();
        const form = new FormData(e.currentTarget);
        setError(null);
        update.mutate({
          projectId: props.projectId,
          name: formText(form, "name"),
          description: formText(form, "description") || null,
        });
      }}
    >
      <label>
        Name <input name="name" defaultValue={props.name} required maxLength={200} disabled={!props.editable} />
      </label>
      <label>
        Description <textarea name="description" defaultValue={props.description ?? ""} rows={3} disabled={!props.editable} />
      </label>
      {props.editable ? (
        <button type="submit" disabled={update.isPending}>
          Save
        </button>
      ) : null}
      <ErrorLine error={error} />
    </form>
  );
}

/** Archive / unarchive (admins). */
export function ArchiveButton({ projectId, archived }: { projectId: string; archived: boolean }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const set = useMutation(
    trpc.project.setArchived.mutationOptions({ onSuccess: () => router.refresh(), onError: (e) => setError(e.message) }),
  );
  return (
    <div>
      <button type="button" disabled={set.isPending} onClick={() => set.mutate({ projectId, archived: !archived })}>
        {archived ? "Unarchive project" : "Archive project"}
      </button>
      <ErrorLine error={error} />
    </div>
  );
}

/** Attach (a dataset shared with the project or of my institution) and detach (leads). */
export function DatasetControls(props: {
  projectId: string;
  attached: Array<{ id: string; name: string; institution: string }>;
  attachable: Array<{ id: string; name: string; institution: string }>;
  editable: boolean;
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const done = { onSuccess: () => router.refresh(), onError: (e: { message: string }) => setError(e.message) };
  const attach = useMutation(trpc.project.attachDataset.mutationOptions(done));
  const detach = useMutation(trpc.project.detachDataset.mutationOptions(done));
  return (
    <div className="stack">
      <table className="data" data-testid="settings-datasets">
        <tbody>
          {props.attached.map((d) => (
            <tr key={d.id}>
              <td>{d.name}</td>
              <td className="muted">{d.institution}</td>
              <td>
                {props.editable ? (
                  <button
                    type="button"
                    disabled={detach.isPending}
                    onClick={() => detach.mutate({ projectId: props.projectId, datasetId: d.id })}
                  >
                    Detach
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {props.editable && props.attachable.length > 0 ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setError(null);
            attach.mutate({ projectId: props.projectId, datasetId: formText(new FormData(e.currentTarget), "dataset") });
          }}
        >
          <select name="dataset" aria-label="Dataset to attach">
            {props.attachable.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name} ({d.institution})
              </option>
            ))}
          </select>{" "}
          <button type="submit" disabled={attach.isPending}>
            Attach
          </button>
        </form>
      ) : null}
      <ErrorLine error={error} />
    </div>
  );
}

/** Active learning: after how many new verified labels a round queues the full fine-tune (leads). */
export function FineTuneForm(props: { projectId: string; value: number; editable: boolean }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const set = useMutation(
    trpc.project.setFineTuneEveryLabels.mutationOptions({
      onSuccess: () => {
        setSaved(true);
        router.refresh();
      },
      onError: (e) => setError(e.message),
    }),
  );
  const { fineTuneEveryLabelsMin: min, fineTuneEveryLabelsMax: max } = ROUND_DEFAULTS;
  return (
    <form
      className="stack"
      data-testid="fine-tune-form"
      onSubmit={(e) => {
        e.preventDefault();
        setError(null);
        setSaved(false);
        const value = Number(formText(new FormData(e.currentTarget), "fineTuneEveryLabels"));
        if (!Number.isInteger(value) || value < min || value > max) {
          setError(`Enter a whole number from ${min} to ${max.toLocaleString("en")}.`);
          return;
        }
        set.mutate({ projectId: props.projectId, fineTuneEveryLabels: value });
      }}
    >
      <label>
        Fine-tune every{" "}
        <input
          type="number"
          name="fineTuneEveryLabels"
          defaultValue={props.value}
          min={min}
          max={max}
          step={1}
          required
          disabled={!props.editable}
          style={{ width: "7em" }}
        />{" "}
        new verified labels
      </label>
      {props.editable ? (
        <div>
          <button type="submit" disabled={set.isPending}>
            Save
          </button>
          {saved ? (
            <span className="muted small" role="status">
              {" "}
              Saved.
            </span>
          ) : null}
        </div>
      ) : null}
      <ErrorLine error={error} />
    </form>
  );
}
