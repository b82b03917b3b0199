"use client";

import { ProgressBar } from "@hemaloop/ui";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useState } from "react";
import type { AppRouter } from "../../../server/trpc/root";
import { useTRPC } from "../../../trpc/client";

type JobRow = inferRouterOutputs<AppRouter>["job"]["list"][number];

const activeStatuses = new Set(["queued", "running"]);

export function JobsPanel({ projectId, canTrain, initialJobs }: { projectId: string; canTrain: boolean; initialJobs: JobRow[] }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const listOptions = trpc.job.list.queryOptions({ projectId, limit: 10 });
  const jobs = useQuery({
    ...listOptions,
    initialData: initialJobs,
    refetchInterval: (q) => ((q.state.data ?? []).some((j) => activeStatuses.has(j.status)) ? 2_000 : 15_000),
  });
  const [message, setMessage] = useState<string | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.job.list.queryKey() });
  const enqueue = useMutation(
    trpc.job.enqueueTrain.mutationOptions({
      onSuccess: () => {
        setMessage("Training queued. A trainer will pick it up.");
        void refresh();
      },
      onError: (e) => setMessage(e.message),
    }),
  );
  const cancel = useMutation(
    trpc.job.cancel.mutationOptions({ onSuccess: () => void refresh(), onError: (e) => setMessage(e.message) }),
  );

  const rows = jobs.data ?? [];
  return (
    <div>
      {canTrain ? (
        <div className="toolbar">
          <button className="primary" type="button" disabled={enqueue.isPending} onClick={() => enqueue.mutate({ projectId })}>
            {enqueue.isPending ? "Queuing…" : "Start training"}
          </button>
          {message ? (
            <span className="small" role="status">
              {message}
            </span>
          ) : null}
        </div>
      ) : (
        <p className="muted small">Only leads can start training.</p>
      )}
      {rows.length === 0 ? (
        <p className="muted">No jobs yet.</p>
      ) : (
        <div className="jobs" data-testid="jobs">
          {rows.map((j) => (
            <div key={j.id} className="job" data-testid="job" data-status={j.status}>
              <div>
                <strong>{j.type}</strong> <span className={`status status-${j.status}`}>{j.status}</span>
                {j.cancelRequested && j.status === "running" ? <span className="muted small"> (cancelling)</span> : null}
                <div className="meta">
                  {new Date(j.createdAt).toLocaleString()} · {String(j.payload.backbone ?? "")}
                  {j.progressMessage ? ` · ${j.progressMessage}` : ""}
                  {j.error ? <span className="error"> · {j.error}</span> : null}
                </div>
              </div>
              <div className="small">{Math.round(j.progress * 100)}%</div>
              <ProgressBar
                value={j.status === "succeeded" ? 1 : j.progress}
                label={`${j.type} ${j.status}`}
                tone={j.status === "succeeded" ? "done" : j.status === "failed" || j.status === "cancelled" ? "failed" : activeStatuses.has(j.status) ? "active" : "idle"}
              />
              {canTrain && activeStatuses.has(j.status) && !j.cancelRequested ? (
                <button type="button" disabled={cancel.isPending} onClick={() => cancel.mutate({ projectId, jobId: j.id })}>
                  Cancel
                </button>
              ) : (
                <span />
              )}
            </div>
          ))}
        </div>
      )}
    </div>
  );
}
