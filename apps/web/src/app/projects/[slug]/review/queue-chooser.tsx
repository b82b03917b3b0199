"use client";

import type { ClassSummary } from "@hemaloop/db/queries";
import { useMutation, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { useTRPC } from "../../../../trpc/client";

type Kind = "review" | "false_negative" | "labeling" | "double_reading";
type Strategy = "entropy" | "leastConfidence" | "margin" | "bald";
type Props = {
  projectId: string;
  slug: string;
  isLead: boolean;
  classes: ClassSummary[];
  datasets: Array<{ id: string; name: string }>;
};

const kindLabels: Record<Kind, string> = {
  review: "Review predictions (by uncertainty)",
  false_negative: "False-negative risk (normal calls, most abnormal-looking first)",
  labeling: "Labeling (unlabelled cells, dataset order)",
  double_reading: "Blind double reading (no prediction; two independent readers per cell)",
};

/** Choose a work queue and its filters, open the reader; a lead (re)ranks the queue from the current model. */
export function QueueChooser({ projectId, slug, isLead, classes, datasets }: Props) {
  const trpc = useTRPC();
  const [kind, setKind] = useState<Kind>("review");
  const [strategy, setStrategy] = useState<Strategy>("entropy");
  const [datasetId, setDatasetId] = useState("");
  const [classId, setClassId] = useState("");
  const [min, setMin] = useState("");
  const [max, setMax] = useState("");
  const [notice, setNotice] = useState<string | null>(null);
  const progress = useQuery(trpc.reading.progress.queryOptions({ projectId, kind }));
  const build = useMutation(
    trpc.reading.build.mutationOptions({
      onSuccess: (r) => {
        setNotice(`Ranked: ${r.items} cells written (claimed cells kept).`);
        void progress.refetch();
      },
      onError: (e) => setNotice(e.message),
    }),
  );
  const retrain = useMutation(
    trpc.reading.retrainThenPredict.mutationOptions({
      onSuccess: () => setNotice("Training queued: it fine-tunes the current model, then predicts and re-ranks (claimed cells kept)."),
      onError: (e) => setNotice(e.message),
    }),
  );
  const q = new URLSearchParams({ queue: kind });
  if (datasetId) q.set("dataset", datasetId);
  if (classId) q.set("class", classId);
  if (min) q.set("min", min);
  if (max) q.set("max", max);

  return (
    <section className="panel" data-testid="queue-chooser">
      <h2>Work queues</h2>
      <div className="toolbar" style={{ flexWrap: "wrap" }}>
        <label className="small">
          Queue{" "}
          <select value={kind} onChange={(e) => setKind(e.target.value as Kind)} name="queue">
            {(Object.keys(kindLabels) as Kind[]).map((k) => (
              <option key={k} value={k}>
                {kindLabels[k]}
              </option>
            ))}
          </select>
        </label>
        {kind === "review" && (
          <label className="small">
            Uncertainty{" "}
            <select value={strategy} onChange={(e) => setStrategy(e.target.value as Strategy)} name="strategy">
              <option value="leastConfidence">least confidence</option>
              <option value="margin">margin</option>
              <option value="entropy">entropy</option>
              <option value="bald">BALD</option>
            </select>
          </label>
        )}
        <label className="small">
          Dataset{" "}
          <select value={datasetId} onChange={(e) => setDatasetId(e.target.value)}>
            <option value="">all</option>
            {datasets.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name}
              </option>
            ))}
          </select>
        </label>
        <label className="small">
          Predicted class{" "}
          <select value={classId} onChange={(e) => setClassId(e.target.value)}>
            <option value="">any</option>
            {classes.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <label className="small">
          Confidence{" "}
          <input
            type="number"
            min={0}
            max={1}
            step={0.05}
            value={min}
            onChange={(e) => setMin(e.target.value)}
            style={{ width: 64 }}
            aria-label="minimum confidence"
          />
          –
          <input
            type="number"
            min={0}
            max={1}
            step={0.05}
            value={max}
            onChange={(e) => setMax(e.target.value)}
            style={{ width: 64 }}
            aria-label="maximum confidence"
          />
        </label>
        {isLead && (
          <button
            type="button"
            disabled={build.isPending}
            onClick={() => build.mutate({ projectId, kind, strategy: kind === "review" ? strategy : undefined })}
          >
            {build.isPending ? "Ranking…" : "Rank queue"}
          </button>
        )}
        {isLead && (
          <button
            type="button"
            data-testid="retrain-then-predict"
            disabled={retrain.isPending}
            title="Fine-tune from the current model on all labels, then predict & rank with the new model"
            onClick={() => retrain.mutate({ projectId, strategy: kind === "review" ? strategy : undefined })}
          >
            {retrain.isPending
              ? "Queuing…"
              : `Train with new labels, then predict & rank${progress.data ? ` (${progress.data.decisionsSinceModel} new decisions)` : ""}`}
          </button>
        )}
        <Link className="button" href={`/projects/${slug}/read?${q.toString()}`} data-testid="open-reader">
          Open reader
        </Link>
      </div>
      {progress.data && (
        <p className="small muted" data-testid="queue-progress">
          {progress.data.remaining} cells to read · {progress.data.doneToday} decided by you today · {progress.data.decisionsSinceModel}{" "}
          decisions since the current model
        </p>
      )}
      {notice && (
        <p className="small" role="status">
          {notice}
        </p>
      )}
    </section>
  );
}
