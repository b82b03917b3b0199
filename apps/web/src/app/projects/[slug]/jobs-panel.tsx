"use client";

import { ProgressBar } from "@hemaloop/ui";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import Link from "next/link";
import { useState } from "react";
import type { AppRouter } from "../../../server/trpc/root";
import { useTRPC } from "../../../trpc/client";
import { DEFAULT_RECIPE, RecipeOptionsForm, toTrainOptions, type RecipeOptions } from "./recipe-options";

type JobRow = inferRouterOutputs<AppRouter>["job"]["list"][number];

const activeStatuses = new Set(["queued", "running"]);
/** Poll interval while a job is queued or running, and when everything is idle. */
const ACTIVE_POLL_MS = 2_000;
const IDLE_POLL_MS = 15_000;

const jobTitles: Record<string, string> = {
  train: "training",
  lodocv: "LODOCV",
  predict: "predict & rank",
  evaluate: "evaluation",
  import: "import",
};

function describe(j: JobRow): string {
  const p = j.payload;
  if (j.type === "predict")
    return [p.strategy, p.unlabeledOnly === false ? "all cells" : "unlabelled cells"].filter(Boolean).map(String).join(" · ");
  return [p.backbone, typeof p.inputSize === "number" ? `${p.inputSize}px` : null].filter(Boolean).map(String).join(" · ");
}

export function JobsPanel({
  projectId,
  slug,
  canTrain,
  hasCurrentModel,
  initialJobs,
}: {
  projectId: string;
  slug: string;
  canTrain: boolean;
  hasCurrentModel: boolean;
  initialJobs: JobRow[];
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const listOptions = trpc.job.list.queryOptions({ projectId, limit: 10 });
  const jobs = useQuery({
    ...listOptions,
    initialData: initialJobs,
    refetchInterval: (q) => ((q.state.data ?? []).some((j) => activeStatuses.has(j.status)) ? ACTIVE_POLL_MS : IDLE_POLL_MS),
  });
  const [message, setMessage] = useState<string | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.job.list.queryKey() });
  const onError = (e: { message: string }) => setMessage(e.message);
  const enqueue = useMutation(
    trpc.job.enqueueTrain.mutationOptions({
      onSuccess: () => {
        setMessage("Training queued. A trainer will pick it up.");
        void refresh();
      },
      onError,
    }),
  );
  const lodocv = useMutation(
    trpc.job.enqueueLodocv.mutationOptions({
      onSuccess: () => {
        setMessage("LODOCV queued: one fold per held-out dataset.");
        void refresh();
      },
      onError,
    }),
  );
  const predict = useMutation(
    trpc.job.enqueuePredict.mutationOptions({
      onSuccess: () => {
        setMessage("Prediction queued: the review queue is re-ranked when it finishes.");
        void refresh();
      },
      onError,
    }),
  );
  const cancel = useMutation(trpc.job.cancel.mutationOptions({ onSuccess: () => void refresh(), onError }));
  const busy = enqueue.isPending || lodocv.isPending || predict.isPending;

  const [recipe, setRecipe] = useState<RecipeOptions>(DEFAULT_RECIPE);
  const trainOptions = toTrainOptions(recipe);

  const rows = jobs.data ?? [];
  return (
    <div>
      {canTrain ? <RecipeOptionsForm value={recipe} onChange={setRecipe} /> : null}
      {canTrain ? (
        <div className="toolbar">
          <button className="primary" type="button" disabled={busy} onClick={() => enqueue.mutate({ projectId, ...trainOptions })}>
            {enqueue.isPending ? "Queuing…" : "Start training"}
          </button>
          <button
            type="button"
            disabled={busy}
            onClick={() => lodocv.mutate({ projectId, ...trainOptions, adapt: recipe.adapt })}
            title="Leave-one-dataset-out cross-validation"
          >
            {lodocv.isPending ? "Queuing…" : "Run LODOCV"}
          </button>
          <button
            type="button"
            disabled={busy || !hasCurrentModel}
            onClick={() => predict.mutate({ projectId, adapt: recipe.adapt })}
            title={hasCurrentModel ? "Score unlabelled cells with the current model and rank the review queue" : "Publish a model first"}
          >
            {predict.isPending ? "Queuing…" : "Predict & rank"}
          </button>
          {message ? (
            <span className="small" role="status">
              {message}
            </span>
          ) : null}
        </div>
      ) : (
        <p className="muted small">Only leads can start training, LODOCV or predictions.</p>
      )}
      {rows.length === 0 ? (
        <p className="muted">No jobs yet.</p>
      ) : (
        <div className="jobs" data-testid="jobs">
          {rows.map((j) => {
            const value = j.status === "succeeded" ? 1 : j.progress;
            const link =
              j.type === "lodocv"
                ? { href: `/projects/${slug}/lodocv/${j.id}`, text: "folds & results" }
                : j.type === "train" && j.modelVersionId
                  ? { href: `/projects/${slug}/models/${j.modelVersionId}`, text: "model" }
                  : j.type === "predict" && j.status === "succeeded"
                    ? { href: `/projects/${slug}/review`, text: "review queue" }
                    : null;
            return (
              <div key={j.id} className="job" data-testid="job" data-status={j.status} data-type={j.type}>
                <div>
                  <strong>{jobTitles[j.type] ?? j.type}</strong> <span className={`status status-${j.status}`}>{j.status}</span>
                  {j.cancelRequested && j.status === "running" ? <span className="muted small"> (cancelling)</span> : null}
                  {link ? (
                    <>
                      {" · "}
                      <Link className="small" href={link.href}>
                        {link.text}
                      </Link>
                    </>
                  ) : null}
                  <div className="meta">
                    {new Date(j.createdAt).toLocaleString()}
                    {describe(j) ? ` · ${describe(j)}` : ""}
                    {j.progressMessage ? <span data-testid="job-message"> · {j.progressMessage}</span> : null}
                    {j.error ? <span className="error"> · {j.error}</span> : null}
                  </div>
                </div>
                <div className="small">{Math.round(value * 100)}%</div>
                <ProgressBar
                  value={value}
                  label={`${j.type} ${j.status}`}
                  tone={
                    j.status === "succeeded"
                      ? "done"
                      : j.status === "failed" || j.status === "cancelled"
                        ? "failed"
                        : activeStatuses.has(j.status)
                          ? "active"
                          : "idle"
                  }
                />
                {canTrain && activeStatuses.has(j.status) && !j.cancelRequested ? (
                  <button type="button" disabled={cancel.isPending} onClick={() => cancel.mutate({ projectId, jobId: j.id })}>
                    Cancel
                  </button>
                ) : (
                  <span />
                )}
              </div>
            );
          })}
        </div>
      )}
    </div>
  );
}
