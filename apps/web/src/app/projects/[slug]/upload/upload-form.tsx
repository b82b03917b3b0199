"use client";

import { importJobResultSchema } from "@hemaloop/ml/contracts";
import { ProgressBar } from "@hemaloop/ui";
import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTRPC } from "../../../../trpc/client";

type Option = { id: string; name: string };

/** How often the import job is polled while it is queued or running. */
const POLL_MS = 1_500;

type Phase = { kind: "form" } | { kind: "uploading"; sent: number; total: number } | { kind: "importing"; jobId: string };

/** Sends the form with XHR: fetch cannot report upload progress. Resolves with the parsed JSON answer. */
function sendForm(url: string, form: FormData, onProgress: (sent: number, total: number) => void) {
  return new Promise<{ status: number; body: { jobId?: string; error?: string } }>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.responseType = "json";
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : 0);
    xhr.onload = () => resolve({ status: xhr.status, body: (xhr.response ?? {}) as { jobId?: string; error?: string } });
    xhr.onerror = () => reject(new Error("the upload failed (network error)"));
    xhr.send(form);
  });
}

export function UploadForm(props: {
  slug: string;
  projectId: string;
  projectSchemeKey: string;
  datasets: Option[];
  institutions: Option[];
  schemes: Array<{ key: string; name: string }>;
}) {
  const [targetKind, setTargetKind] = useState<"new" | "existing">(props.institutions.length > 0 ? "new" : "existing");
  const [phase, setPhase] = useState<Phase>({ kind: "form" });
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setError(null);
    const form = new FormData(event.currentTarget);
    // Fields first, files last: the server checks the target before it stores any bytes.
    const files = form.getAll("files").filter((f): f is File => f instanceof File && f.name !== "");
    form.delete("files");
    for (const f of files) form.append("files", f);
    if (files.length === 0) return setError("Choose a zip or image files.");
    setPhase({ kind: "uploading", sent: 0, total: files.reduce((s, f) => s + f.size, 0) });
    try {
      const res = await sendForm(`/api/projects/${props.slug}/uploads`, form, (sent, total) =>
        setPhase({ kind: "uploading", sent, total }),
      );
      if (res.status !== 201 || !res.body.jobId) {
        setPhase({ kind: "form" });
        setError(res.body.error ?? `upload failed (HTTP ${res.status})`);
        return;
      }
      setPhase({ kind: "importing", jobId: res.body.jobId });
    } catch (e) {
      setPhase({ kind: "form" });
      setError((e as Error).message);
    }
  }

  if (phase.kind === "importing")
    return <ImportProgress projectId={props.projectId} jobId={phase.jobId} onAgain={() => setPhase({ kind: "form" })} />;
  const busy = phase.kind === "uploading";

  return (
    <form className="panel" onSubmit={(e) => void submit(e)} data-testid="upload-form">
      <fieldset disabled={busy}>
        <legend>Dataset</legend>
        <label>
          <input
            type="radio"
            name="targetKind"
            value="new"
            checked={targetKind === "new"}
            onChange={() => setTargetKind("new")}
            disabled={props.institutions.length === 0}
          />{" "}
          New dataset
        </label>{" "}
        <label>
          <input
            type="radio"
            name="targetKind"
            value="existing"
            checked={targetKind === "existing"}
            onChange={() => setTargetKind("existing")}
            disabled={props.datasets.length === 0}
          />{" "}
          Add to a dataset of this project
        </label>
        {targetKind === "new" ? (
          <div className="form-grid">
            <label>
              Name <input name="datasetName" required maxLength={200} />
            </label>
            <label>
              Institution{" "}
              <select name="institutionId" required>
                {props.institutions.map((i) => (
                  <option key={i.id} value={i.id}>
                    {i.name}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Class scheme{" "}
              <select name="schemeKey" defaultValue={props.projectSchemeKey}>
                {props.schemes.map((s) => (
                  <option key={s.key} value={s.key}>
                    {s.name}
                  </option>
                ))}
              </select>
            </label>
          </div>
        ) : (
          <label>
            Dataset{" "}
            <select name="datasetId" required>
              {props.datasets.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name}
                </option>
              ))}
            </select>
          </label>
        )}
      </fieldset>
      <fieldset disabled={busy}>
        <legend>Provenance</legend>
        <div className="form-grid">
          {(["site", "device", "stain", "magnification", "licence"] as const).map((field) => (
            <label key={field}>
              {field[0]!.toUpperCase() + field.slice(1)} <input name={field} maxLength={200} />
            </label>
          ))}
        </div>
      </fieldset>
      <fieldset disabled={busy}>
        <legend>Files</legend>
        <input
          type="file"
          name="files"
          multiple
          accept=".zip,.jpg,.jpeg,.png,.tif,.tiff,.bmp,.webp,.csv,.json,.xml"
          data-testid="upload-files"
        />
      </fieldset>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {busy ? (
        <div data-testid="upload-progress">
          <ProgressBar value={phase.total > 0 ? phase.sent / phase.total : 0} label="upload" />
          <p className="muted small">
            Uploading {(phase.sent / 1024 ** 2).toFixed(1)} / {(phase.total / 1024 ** 2).toFixed(1)} MiB
          </p>
        </div>
      ) : (
        <button className="button primary" type="submit">
          Upload and import
        </button>
      )}
    </form>
  );
}

function ImportProgress({ projectId, jobId, onAgain }: { projectId: string; jobId: string; onAgain: () => void }) {
  const trpc = useTRPC();
  const q = useQuery({
    ...trpc.job.get.queryOptions({ projectId, jobId }),
    staleTime: 0,
    refetchInterval: (query) => (query.state.data && ["queued", "running"].includes(query.state.data.job.status) ? POLL_MS : false),
  });
  const job = q.data?.job;
  if (!job) return <p className="muted">Waiting for the import job…</p>;
  const result = job.status === "succeeded" ? importJobResultSchema.safeParse(job.result) : null;

  return (
    <section className="panel" data-testid="import-job">
      <p>
        Import job: <strong data-testid="import-status">{job.status}</strong>
      </p>
      {job.status === "queued" ? <p className="muted small">Waiting for a trainer to pick it up.</p> : null}
      {job.status === "running" ? (
        <>
          <ProgressBar value={job.progress} label="import" />
          <p className="muted small" data-testid="import-progress">
            {job.progressMessage}
          </p>
        </>
      ) : null}
      {job.status === "failed" || job.status === "cancelled" ? (
        <p className="error" role="alert">
          {job.error ?? `the import was ${job.status}`}
        </p>
      ) : null}
      {result?.success ? (
        <>
          <p data-testid="import-counts">
            Imported <strong>{result.data.imported}</strong> · duplicates <strong>{result.data.duplicates}</strong> · rejected{" "}
            <strong>{result.data.rejected}</strong>
          </p>
          {result.data.rejections.length > 0 ? (
            <table className="data" data-testid="import-rejections">
              <thead>
                <tr>
                  <th>File</th>
                  <th>Reason</th>
                </tr>
              </thead>
              <tbody>
                {result.data.rejections.map((r) => (
                  <tr key={`${r.file}:${r.line ?? ""}`}>
                    <td>
                      {r.file}
                      {r.line ? ` (line ${r.line})` : ""}
                    </td>
                    <td>{r.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          {result.data.rejected > result.data.rejections.length ? (
            <p className="muted small">…and {result.data.rejected - result.data.rejections.length} more rejected files.</p>
          ) : null}
        </>
      ) : null}
      {job.status !== "queued" && job.status !== "running" ? (
        <button className="button" type="button" onClick={onAgain}>
          Upload more
        </button>
      ) : null}
    </section>
  );
}
