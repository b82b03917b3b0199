"use client";

import type { AdjudicationItem, ClassSummary } from "@hemaloop/db/queries";
import { ClassChip, formatPercent } from "@hemaloop/ui";
import { useMutation } from "@tanstack/react-query";
import Link from "next/link";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { trpcErrorCode, useTRPC } from "../../../../trpc/client";
import { CellCrop } from "./reader";

type Props = { projectId: string; slug: string; classes: ClassSummary[] };

const HOLD = 5;
const HEARTBEAT_MS = 60_000;

/**
 * The adjudication queue (leads): a double-read cell whose two readings disagree, with both readings
 * (reader names), the model's prediction, and one class key to decide (label source adjudicated).
 */
export function Adjudicator({ projectId, slug, classes }: Props) {
  const trpc = useTRPC();
  const claim = useMutation(trpc.reading.claimAdjudication.mutationOptions());
  const adjudicate = useMutation(trpc.reading.adjudicate.mutationOptions());
  const skip = useMutation(trpc.reading.skip.mutationOptions());
  const heartbeat = useMutation(trpc.reading.heartbeat.mutationOptions());
  const [items, setItems] = useState<AdjudicationItem[] | null>(null);
  const [remaining, setRemaining] = useState<number | null>(null);
  const [leaseMs, setLeaseMs] = useState<number | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const sessionStart = useRef(new Date());
  const classById = useMemo(() => new Map(classes.map((c) => [c.id, c])), [classes]);
  const classByKey = useMemo(() => new Map(classes.filter((c) => c.shortcut).map((c) => [c.shortcut!.toLowerCase(), c])), [classes]);

  const refill = useCallback(async () => {
    const r = await claim.mutateAsync({ projectId, hold: HOLD, skippedSince: sessionStart.current });
    setItems(r.items);
    setRemaining(r.progress.remaining + r.progress.held);
    setLeaseMs(r.leaseMs);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the mutation object changes every render
  }, [projectId]);

  useEffect(() => {
    void refill().catch(() => setNotice("Could not load the adjudication queue."));
  }, [refill]);

  useEffect(() => {
    if (leaseMs === null) return;
    const timer = window.setInterval(() => heartbeat.mutate({ projectId }), Math.min(HEARTBEAT_MS, Math.max(1000, leaseMs / 3)));
    return () => window.clearInterval(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the mutation object changes every render
  }, [projectId, leaseMs]);

  const current = items?.[0] ?? null;

  const run = useCallback(
    async (action: () => Promise<unknown>, done: string) => {
      if (busy) return;
      setBusy(true);
      setNotice(null);
      try {
        await action();
        setNotice(done);
      } catch (error) {
        setNotice(
          trpcErrorCode(error) === "CONFLICT"
            ? `Conflict: ${(error as Error).message}. Nothing was overwritten.`
            : `Failed: ${(error as Error).message}`,
        );
      } finally {
        await refill().catch(() => {});
        setBusy(false);
      }
    },
    [busy, refill],
  );

  const decide = useCallback(
    (cls: ClassSummary) => {
      if (!current) return;
      const readingVersions = Object.fromEntries(current.readings.map((r) => [r.readerId, r.version]));
      void run(
        () =>
          adjudicate.mutateAsync({
            projectId,
            itemId: current.id,
            classId: cls.id,
            expectedVersion: current.myLabel?.version ?? null,
            readingVersions,
          }),
        `Adjudicated: ${cls.name}`,
      );
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [current, run, projectId],
  );

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement || e.target instanceof HTMLTextAreaElement) return;
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === "s" && current && !classByKey.has("s")) {
        void run(() => skip.mutateAsync({ projectId, itemId: current.id }), "Skipped");
        return;
      }
      const cls = classByKey.get(e.key.toLowerCase());
      if (cls) {
        e.preventDefault();
        decide(cls);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [decide, run, current, classByKey, projectId]);

  const predicted = current?.prediction ? classById.get(current.prediction.predictedClassId) : undefined;

  return (
    <div data-testid="adjudicator" style={{ maxWidth: 1240 }}>
      <div className="toolbar">
        <h1 style={{ flex: 1, margin: 0 }}>Adjudication</h1>
        <span className="small">
          awaiting adjudication <b data-testid="adjudication-remaining">{remaining ?? "–"}</b>
        </span>
      </div>
      {notice && (
        <p role="status" className="small" data-testid="adjudication-notice">
          {notice}
        </p>
      )}
      {items === null ? (
        <p className="muted">Loading…</p>
      ) : current === null ? (
        <section className="panel" data-testid="adjudication-empty">
          <p className="muted">No disagreement left for you. Cells you read yourself go to another lead.</p>
        </section>
      ) : (
        <div
          style={{ display: "flex", gap: 24, alignItems: "flex-start", flexWrap: "wrap" }}
          data-testid="adjudication-item"
          data-cell-id={current.cellId}
        >
          <CellCrop item={current} large />
          <div style={{ flex: "1 1 260px", minWidth: 260 }}>
            <p className="small muted">
              {current.datasetName} · {current.imageName}
            </p>
            <table className="small" data-testid="adjudication-readings">
              <tbody>
                {current.readings.map((r) => {
                  const c = classById.get(r.classId);
                  return (
                    <tr key={r.readerId} data-testid="adjudication-reading">
                      <td>Reading {r.round}</td>
                      <td>{r.readerName}</td>
                      <td>{c ? <ClassChip name={c.name} color={c.color} /> : r.classId}</td>
                    </tr>
                  );
                })}
                <tr data-testid="adjudication-prediction">
                  <td>Model</td>
                  <td />
                  <td>
                    {predicted && current.prediction ? (
                      <>
                        <ClassChip name={predicted.name} color={predicted.color} /> {formatPercent(current.prediction.confidence)}
                      </>
                    ) : (
                      <span className="muted">no prediction</span>
                    )}
                  </td>
                </tr>
              </tbody>
            </table>
            <p className="small muted">
              Press a class key to decide (label source <i>adjudicated</i>) · <b>s</b> skip
            </p>
            {current.imageKind === "field" && (
              <p className="small">
                <Link href={`/projects/${slug}/fields/${current.imageId}?cell=${current.cellId}`}>Open the field at this cell</Link>
              </p>
            )}
            <div style={{ display: "flex", flexWrap: "wrap", gap: 6 }}>
              {classes.map((c) => (
                <button
                  key={c.id}
                  type="button"
                  disabled={busy}
                  onClick={() => decide(c)}
                  data-testid="adjudication-class"
                  data-class-name={c.name}
                >
                  {c.shortcut ? `${c.shortcut} · ` : ""}
                  {c.name}
                </button>
              ))}
            </div>
          </div>
        </div>
      )}
    </div>
  );
}
