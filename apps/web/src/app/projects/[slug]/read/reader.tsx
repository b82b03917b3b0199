"use client";

import type { ClassSummary, ReaderItem } from "@hemaloop/db/queries";
import { ClassChip, cropBackground, formatPercent } from "@hemaloop/ui";
import { useMutation } from "@tanstack/react-query";
import Link from "next/link";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { trpcErrorCode, useTRPC } from "../../../../trpc/client";

type Kind = "review" | "false_negative" | "labeling" | "double_reading";
type Filters = { datasetId?: string; predictedClassId?: string; minConfidence?: number; maxConfidence?: number };
type Props = { projectId: string; slug: string; kind: Kind; classes: ClassSummary[]; filters: Filters };
type Progress = { remaining: number; held: number; doneToday: number; decisionsSinceModel: number };

/** The current cell plus the ones behind it: their images are preloaded so advancing is instant. */
const HOLD = 11;
/**
 * Leases last 10 minutes by default (HEMALOOP_READER_LEASE_SECONDS); a beat every minute, or three per
 * lease when it is shorter, keeps a reader who sits on a cell from losing it.
 */
const HEARTBEAT_MS = 60_000;

export function CellCrop({ item, large }: { item: ReaderItem; large: boolean }) {
  const size = large ? 420 : 160;
  if (item.geometry === "box" && item.x !== null && item.y !== null && item.width && item.height) {
    return (
      <span
        className="crop"
        role="img"
        aria-label={`cell on ${item.imageName}`}
        data-testid={large ? "reader-crop" : undefined}
        style={{
          display: "block",
          width: size,
          height: size,
          outline: "2px solid #e11d48",
          backgroundImage: `url(/api/files/${item.storageKey})`,
          ...cropBackground(
            { x: item.x, y: item.y, width: item.width, height: item.height },
            { width: item.imageWidth, height: item.imageHeight },
          ),
        }}
      />
    );
  }
  return (
    // eslint-disable-next-line @next/next/no-img-element -- authenticated bytes from /api/files
    <img
      data-testid={large ? "reader-crop" : undefined}
      src={`/api/files/${item.storageKey}`}
      alt={item.imageName}
      style={{ width: size, height: size, objectFit: "contain" }}
    />
  );
}

/**
 * Keys: Enter/Space accept the prediction, a class shortcut corrects it, s skips, z / Ctrl+Z undoes,
 * ? shows the keys. The server is the source of truth: after every decision the batch is re-claimed.
 */
export function Reader({ projectId, slug, kind, classes, filters }: Props) {
  const trpc = useTRPC();
  const claim = useMutation(trpc.reading.claim.mutationOptions());
  const decide = useMutation(trpc.reading.decide.mutationOptions());
  const undo = useMutation(trpc.reading.undo.mutationOptions());
  const skip = useMutation(trpc.reading.skip.mutationOptions());
  const heartbeat = useMutation(trpc.reading.heartbeat.mutationOptions());
  const [items, setItems] = useState<ReaderItem[] | null>(null);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [showKeys, setShowKeys] = useState(false);
  const [busy, setBusy] = useState(false);
  const [leaseMs, setLeaseMs] = useState<number | null>(null);
  const sessionStart = useRef(new Date());
  const classById = useMemo(() => new Map(classes.map((c) => [c.id, c])), [classes]);
  const classByKey = useMemo(() => new Map(classes.filter((c) => c.shortcut).map((c) => [c.shortcut!.toLowerCase(), c])), [classes]);

  const refill = useCallback(async () => {
    const r = await claim.mutateAsync({ projectId, kind, hold: HOLD, filters, skippedSince: sessionStart.current });
    setItems(r.items);
    setProgress(r.progress);
    setLeaseMs(r.leaseMs);
    // Prefetch the crops behind the current one.
    for (const it of r.items.slice(1)) new Image().src = `/api/files/${it.storageKey}`;
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the mutation object changes every render
  }, [projectId, kind, filters]);

  useEffect(() => {
    void refill().catch(() => setNotice("Could not load the queue."));
  }, [refill]);

  // Only while the page is open: a closed tab stops beating, and its claims lapse back to the queue.
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

  const accept = useCallback(() => {
    if (!current?.prediction) return;
    const name = classById.get(current.prediction.predictedClassId)?.name ?? "prediction";
    void run(
      () =>
        decide.mutateAsync({
          projectId,
          itemId: current.id,
          decision: { action: "accept" },
          expectedVersion: current.myLabel?.version ?? null,
        }),
      `Accepted: ${name}`,
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [current, run, projectId, classById]);

  const correct = useCallback(
    (cls: ClassSummary) => {
      if (!current) return;
      void run(
        () =>
          decide.mutateAsync({
            projectId,
            itemId: current.id,
            decision: { action: "correct", classId: cls.id },
            expectedVersion: current.myLabel?.version ?? null,
          }),
        `Labelled: ${cls.name}`,
      );
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [current, run, projectId],
  );

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement || e.target instanceof HTMLTextAreaElement) return;
      if (e.key === "?") {
        setShowKeys((s) => !s);
      } else if (e.key === "z" || (e.key === "Z" && e.ctrlKey) || (e.key.toLowerCase() === "z" && (e.ctrlKey || e.metaKey))) {
        e.preventDefault();
        void run(() => undo.mutateAsync({ projectId }), "Undone");
      } else if (e.ctrlKey || e.metaKey || e.altKey) {
        return;
      } else if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        accept();
      } else if (e.key === "s" && current && !classByKey.has("s")) {
        void run(() => skip.mutateAsync({ projectId, itemId: current.id }), "Skipped");
      } else {
        const cls = classByKey.get(e.key.toLowerCase());
        if (cls) {
          e.preventDefault();
          correct(cls);
        }
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [accept, correct, run, current, classByKey, projectId]);

  const predicted = current?.prediction ? classById.get(current.prediction.predictedClassId) : undefined;
  const mine = current?.myLabel ? classById.get(current.myLabel.classId) : undefined;
  const done = progress?.doneToday ?? 0;

  return (
    <div data-testid="reader" style={{ maxWidth: 1240 }}>
      <div className="toolbar" data-testid="reader-header">
        <h1 style={{ flex: 1, margin: 0 }}>Reader · {kind.replace("_", "-")}</h1>
        <span className="small" data-testid="reader-position">
          cell {progress ? done + 1 : "–"} · done today <b data-testid="reader-done">{done}</b> · remaining{" "}
          <b data-testid="reader-remaining">{progress ? progress.remaining + progress.held : "–"}</b>
        </span>
        <button type="button" onClick={() => setShowKeys((s) => !s)} aria-expanded={showKeys}>
          Keys (?)
        </button>
      </div>
      {notice && (
        <p role="status" className="small" data-testid="reader-notice">
          {notice}
        </p>
      )}
      {showKeys && (
        <section className="panel small" data-testid="reader-keys">
          <p>
            <b>Enter</b> / <b>Space</b> accept the prediction · <b>z</b> / <b>Ctrl+Z</b> undo (up to 20) · <b>s</b> skip · <b>?</b> this
            help
          </p>
          <p>
            {classes.map((c) => (
              <span key={c.id} style={{ marginRight: 12 }}>
                <b>{c.shortcut}</b> {c.name}
              </span>
            ))}
          </p>
        </section>
      )}
      {items === null ? (
        <p className="muted">Loading…</p>
      ) : current === null ? (
        <section className="panel" data-testid="reader-empty">
          <p className="muted">Nothing left in this queue for you. A lead can re-rank it on the review page.</p>
        </section>
      ) : (
        <div
          style={{ display: "flex", gap: 24, alignItems: "flex-start", flexWrap: "wrap" }}
          data-testid="reader-item"
          data-cell-id={current.cellId}
        >
          <CellCrop item={current} large />
          {/* flex-basis, not just min-width: the class buttons must wrap beside the crop, not push it all below. */}
          <div style={{ flex: "1 1 260px", minWidth: 260 }}>
            <p className="small muted">
              {current.datasetName} · {current.imageName}
            </p>
            {current.blind ? (
              <p data-testid="reader-blind">
                <b>Blind reading</b> <span className="muted small">(no prediction, no other reading: press a class key)</span>
              </p>
            ) : predicted && current.prediction ? (
              <p data-testid="reader-prediction">
                Model: <ClassChip name={predicted.name} color={predicted.color} /> {formatPercent(current.prediction.confidence)}{" "}
                <span className="muted small">(Enter accepts)</span>
              </p>
            ) : (
              <p className="muted small">No prediction: press a class key.</p>
            )}
            {mine && (
              <p className="small" data-testid="reader-my-label">
                Your label: <ClassChip name={mine.name} color={mine.color} />
              </p>
            )}
            <p className="small muted" data-testid="reader-key-hint">
              <b>Enter</b> accept · <b>{classes[0]?.shortcut ?? "1"}</b>–<b>{classes[classes.length - 1]?.shortcut ?? "9"}</b> class ·{" "}
              <b>s</b> skip · <b>z</b> undo · <b>?</b> all keys
            </p>
            {/* The field viewer shows predictions and labels: a blind reader does not get the link. */}
            {current.imageKind === "field" && !current.blind && (
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
                  onClick={() => correct(c)}
                  title={`key ${c.shortcut ?? ""}`}
                  data-testid="reader-class"
                  data-class-name={c.name}
                  data-shortcut={c.shortcut ?? undefined}
                >
                  {c.shortcut ? `${c.shortcut} · ` : ""}
                  {c.name}
                </button>
              ))}
            </div>
          </div>
        </div>
      )}
      {items && items.length > 1 && (
        <div style={{ display: "flex", gap: 6, marginTop: 16, overflowX: "auto" }} aria-label="next cells" data-testid="reader-next">
          {items.slice(1, 11).map((it) => (
            <span key={it.id} style={{ flex: "0 0 auto", transform: "scale(0.5)", transformOrigin: "top left", width: 80, height: 80 }}>
              <CellCrop item={it} large={false} />
            </span>
          ))}
        </div>
      )}
    </div>
  );
}
