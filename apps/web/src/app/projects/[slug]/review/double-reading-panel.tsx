"use client";

import { useMutation, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { useTRPC } from "../../../../trpc/client";

type Props = { projectId: string; slug: string; datasets: Array<{ id: string; name: string }> };

/**
 * Leads: which cells two independent readers read blind (a share picked by a seeded hash, and/or whole
 * datasets), and the way into the adjudication queue for the cells whose readings disagree.
 */
export function DoubleReadingPanel({ projectId, slug, datasets }: Props) {
  const trpc = useTRPC();
  const current = useQuery(trpc.reading.doubleReadingPlan.queryOptions({ projectId }));
  // Lives here: the form below remounts after a save and would lose it.
  const [notice, setNotice] = useState<string | null>(null);
  if (current.data === undefined) {
    return (
      <section className="panel" data-testid="double-reading-panel">
        <h2>Blind double reading</h2>
        <p className="muted small">{current.error ? current.error.message : "Loading…"}</p>
      </section>
    );
  }
  // Keyed by the saved plan, so the form starts from what the server holds after every save.
  return (
    <DoubleReadingForm
      key={JSON.stringify(current.data.plan)}
      projectId={projectId}
      slug={slug}
      datasets={datasets}
      plan={current.data.plan}
      awaitingAdjudication={current.data.awaitingAdjudication}
      notice={notice}
      onNotice={setNotice}
      onSaved={() => void current.refetch()}
    />
  );
}

type FormProps = Props & {
  plan: { share: number; datasetIds: string[] } | null;
  awaitingAdjudication: number;
  notice: string | null;
  onNotice: (notice: string | null) => void;
  onSaved: () => void;
};

function DoubleReadingForm({ projectId, slug, datasets, plan, awaitingAdjudication, notice, onNotice: setNotice, onSaved }: FormProps) {
  const trpc = useTRPC();
  const [percent, setPercent] = useState(String(Math.round((plan?.share ?? 0) * 1000) / 10));
  const [picked, setPicked] = useState<Set<string>>(new Set(plan?.datasetIds ?? []));
  const save = useMutation(
    trpc.reading.setDoubleReadingPlan.mutationOptions({
      onSuccess: (r) => {
        setNotice(`Saved: ${r.cells} cells are double read (${r.added} reading items added, ${r.removed} removed).`);
        onSaved();
      },
      onError: (e) => setNotice(e.message),
    }),
  );
  const share = Number(percent);
  const valid = percent !== "" && Number.isFinite(share) && share >= 0 && share <= 100;

  return (
    <section className="panel" data-testid="double-reading-panel">
      <h2>Blind double reading</h2>
      <p className="small muted">
        Picked cells are read by two readers who see neither the prediction nor each other&rsquo;s reading. When they disagree, the cell
        waits for a lead&rsquo;s adjudication.
      </p>
      <form
        className="toolbar"
        style={{ flexWrap: "wrap" }}
        onSubmit={(e) => {
          e.preventDefault();
          if (valid) save.mutate({ projectId, share: share / 100, datasetIds: [...picked] });
        }}
      >
        <label className="small">
          Share of cells (%){" "}
          <input
            type="number"
            min={0}
            max={100}
            step={0.5}
            value={percent}
            onChange={(e) => setPercent(e.target.value)}
            style={{ width: 72 }}
            name="double-reading-share"
            aria-invalid={!valid}
          />
        </label>
        {datasets.map((d) => (
          <label key={d.id} className="small">
            <input
              type="checkbox"
              checked={picked.has(d.id)}
              onChange={(e) => {
                const next = new Set(picked);
                if (e.target.checked) next.add(d.id);
                else next.delete(d.id);
                setPicked(next);
              }}
              data-testid="double-reading-dataset"
              data-dataset-name={d.name}
            />{" "}
            all of {d.name}
          </label>
        ))}
        <button type="submit" disabled={!valid || save.isPending} data-testid="double-reading-save">
          {save.isPending ? "Saving…" : "Save double reading"}
        </button>
        <Link className="button" href={`/projects/${slug}/read?queue=adjudication`} data-testid="open-adjudication">
          Adjudication ({awaitingAdjudication} awaiting)
        </Link>
      </form>
      {!valid && <p className="small error">The share is a percentage from 0 to 100.</p>}
      {notice && (
        <p className="small" role="status" data-testid="double-reading-notice">
          {notice}
        </p>
      )}
    </section>
  );
}
