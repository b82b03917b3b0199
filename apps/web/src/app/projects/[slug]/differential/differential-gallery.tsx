"use client";

import type { ClassSummary, DifferentialCell } from "@hemaloop/db/queries";
import { BarChart, ClassChip, cropBackground, ProgressBar } from "@hemaloop/ui";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useTRPC } from "../../../../trpc/client";

type Scope = { datasetId?: string; smear?: string; imageId?: string };
type Props = { projectId: string; classes: ClassSummary[]; scope: Scope; target: 100 | 200 };
/** What the selection remembers per cell: the version of my label it showed (the optimistic-lock token). */
type Selection = Map<string, number | null>;

/** Crops per gallery page: a class with thousands of cells is paged, never rendered at once. */
const PAGE = 48;

function Crop({ cell }: { cell: DifferentialCell }) {
  if (cell.geometry === "box" && cell.x !== null && cell.y !== null && cell.width && cell.height) {
    return (
      <span
        className="crop"
        role="img"
        aria-label={`cell on ${cell.imageName}`}
        style={{
          backgroundImage: `url(/api/files/${cell.storageKey})`,
          ...cropBackground(
            { x: cell.x, y: cell.y, width: cell.width, height: cell.height },
            { width: cell.imageWidth, height: cell.imageHeight },
          ),
        }}
      />
    );
  }
  // eslint-disable-next-line @next/next/no-img-element -- authenticated bytes from /api/files
  return <img className="thumb" src={`/api/files/${cell.thumbnailKey}`} alt={cell.imageName} loading="lazy" />;
}

type GalleryProps = {
  projectId: string;
  scope: Scope;
  classId: string | null;
  title: React.ReactNode;
  total: number;
  selection: Selection;
  onPick: (cell: DifferentialCell, visible: DifferentialCell[], mode: "only" | "toggle" | "range") => void;
};

/** One class's gallery: one page of crops at a time, loaded when shown. */
function ClassGallery({ projectId, scope, classId, title, total, selection, onPick }: GalleryProps) {
  const trpc = useTRPC();
  const [offset, setOffset] = useState(0);
  const lastOffset = Math.max(0, Math.floor((total - 1) / PAGE) * PAGE);
  const at = Math.min(offset, lastOffset);
  const q = useQuery({
    ...trpc.differential.cells.queryOptions({ projectId, ...scope, classId, offset: at, limit: PAGE }),
    placeholderData: (prev) => prev,
  });
  const items = q.data?.items ?? [];
  return (
    <section
      className="panel"
      data-testid="diff-gallery"
      data-class-id={classId ?? "none"}
      aria-label={`gallery ${classId ?? "unclassified"}`}
    >
      <div className="toolbar" style={{ justifyContent: "space-between" }}>
        <h2 style={{ margin: 0, fontSize: "1rem" }}>{title}</h2>
        {total > PAGE ? (
          <span className="small">
            <button type="button" disabled={at === 0} onClick={() => setOffset(Math.max(0, at - PAGE))}>
              Previous
            </button>{" "}
            {at + 1}–{Math.min(total, at + PAGE)} of {total}{" "}
            <button type="button" disabled={at >= lastOffset} onClick={() => setOffset(at + PAGE)}>
              Next
            </button>
          </span>
        ) : null}
      </div>
      <div className="cell-grid">
        {items.map((cell) => {
          const selected = selection.has(cell.cellId);
          return (
            <button
              key={cell.cellId}
              type="button"
              className={`cell${selected ? " selected" : ""}`}
              data-testid="diff-cell"
              data-cell-id={cell.cellId}
              data-basis={cell.basis}
              aria-pressed={selected}
              title={cell.basis === "prediction" ? `model's class (confidence ${Math.round((cell.confidence ?? 0) * 100)} %)` : "labelled"}
              style={cell.basis === "prediction" ? { borderStyle: "dashed" } : undefined}
              onClick={(e) => onPick(cell, items, e.shiftKey ? "range" : e.ctrlKey || e.metaKey ? "toggle" : "only")}
            >
              <Crop cell={cell} />
              <span className="muted small">
                {cell.basis === "prediction" ? `predicted ${Math.round((cell.confidence ?? 0) * 100)} %` : "labelled"}
              </span>
            </button>
          );
        })}
      </div>
    </section>
  );
}

/**
 * CellaVision-style differential: live counts and percentages, one gallery per class (consensus label,
 * else the current model's class, dashed), click / shift-click / ctrl-click to select, a class key to
 * reclassify the selection as my labels, Esc to clear, CSV export of the counts.
 */
export function DifferentialGallery({ projectId, classes, scope, target }: Props) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const summary = useQuery(trpc.differential.summary.queryOptions({ projectId, ...scope }));
  const reclassify = useMutation(trpc.differential.reclassify.mutationOptions());
  const [selection, setSelection] = useState<Selection>(new Map());
  const [notice, setNotice] = useState<string | null>(null);
  const anchor = useRef<string | null>(null);
  const classById = useMemo(() => new Map(classes.map((c) => [c.id, c])), [classes]);

  const onPick = useCallback((cell: DifferentialCell, visible: DifferentialCell[], mode: "only" | "toggle" | "range") => {
    setSelection((prev) => {
      if (mode === "only") {
        anchor.current = cell.cellId;
        return new Map([[cell.cellId, cell.myLabelVersion]]);
      }
      const next = new Map(prev);
      if (mode === "toggle") {
        anchor.current = cell.cellId;
        if (next.has(cell.cellId)) next.delete(cell.cellId);
        else next.set(cell.cellId, cell.myLabelVersion);
        return next;
      }
      // Range within the same gallery page, from the last plain or ctrl click.
      const from = visible.findIndex((c) => c.cellId === anchor.current);
      const to = visible.findIndex((c) => c.cellId === cell.cellId);
      const [a, b] = from < 0 ? [to, to] : [Math.min(from, to), Math.max(from, to)];
      for (const c of visible.slice(a, b + 1)) next.set(c.cellId, c.myLabelVersion);
      return next;
    });
  }, []);

  const apply = useCallback(
    async (cls: ClassSummary) => {
      if (selection.size === 0 || reclassify.isPending) return;
      setNotice(null);
      try {
        const r = await reclassify.mutateAsync({
          projectId,
          classId: cls.id,
          cells: [...selection].map(([cellId, expectedVersion]) => ({ cellId, expectedVersion })),
        });
        setSelection(new Map());
        if (r.conflicts.length > 0) {
          setNotice(
            `${r.saved.length} moved to ${cls.name}; ${r.conflicts.length} changed elsewhere meanwhile and were left as they are (the galleries now show them as they are).`,
          );
        }
      } catch (error) {
        setNotice(error instanceof Error ? error.message : "Could not reclassify the selection.");
      } finally {
        await queryClient.invalidateQueries({ queryKey: trpc.differential.pathKey() });
      }
    },
    [selection, reclassify, projectId, queryClient, trpc],
  );

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const t = e.target as HTMLElement | null;
      if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) return;
      if (e.key === "Escape") {
        setSelection(new Map());
        return;
      }
      const cls = classes.find((c) => c.shortcut !== null && c.shortcut.toLowerCase() === e.key.toLowerCase());
      if (cls) {
        e.preventDefault();
        void apply(cls);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [apply, classes]);

  const exportCsv = async () => {
    const r = await queryClient.fetchQuery(trpc.differential.exportCsv.queryOptions({ projectId, ...scope }, { staleTime: 0 }));
    const url = URL.createObjectURL(new Blob([r.csv], { type: "text/csv" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = r.filename;
    document.body.append(a);
    a.click();
    a.remove();
    URL.revokeObjectURL(url);
  };

  const s = summary.data;
  if (!s) return <div className="panel">{summary.error ? summary.error.message : "Loading counts…"}</div>;
  const classified = s.labelled + s.predicted;
  const galleries = s.counts.filter((c) => c.total > 0);
  return (
    <div style={{ display: "grid", gap: "1rem" }}>
      <div className="panel" data-testid="diff-summary">
        <div className="toolbar" style={{ justifyContent: "space-between" }}>
          <strong data-testid="diff-target">
            {s.labelled} of {target} cells counted{s.labelled >= target ? " — target reached" : ""}
          </strong>
          <button type="button" onClick={() => void exportCsv()}>
            Export CSV
          </button>
        </div>
        <ProgressBar
          value={s.labelled / target}
          label={`${s.labelled} of ${target} cells counted`}
          tone={s.labelled >= target ? "done" : "active"}
        />
        <p className="muted small">
          Each cell counts under its label (consensus of readers, adjudication and imported ground truth), else under the current
          model&apos;s class (dashed border, “predicted”)
          {s.modelVersionId ? "" : " — the project has no current model, so unlabelled cells are unclassified"}. Select crops (click,
          shift-click for a range, ctrl-click to add), then press a class key; Esc clears.
        </p>
        <table className="data small" aria-label="Differential counts">
          <thead>
            <tr>
              <th>Class</th>
              <th>Key</th>
              <th>Labelled</th>
              <th>Predicted</th>
              <th>Total</th>
              <th>%</th>
            </tr>
          </thead>
          <tbody>
            {s.counts.map((c) => {
              const cls = c.classId ? classById.get(c.classId) : undefined;
              if (!cls && c.total === 0) return null;
              const key = cls?.key ?? "unclassified";
              return (
                <tr key={key} data-testid={`count-${key}`} data-total={c.total} data-labelled={c.labelled}>
                  <td>{cls ? <ClassChip name={cls.name} color={cls.color} /> : "Unclassified"}</td>
                  <td>{cls?.shortcut ?? ""}</td>
                  <td>{c.labelled}</td>
                  <td>{c.predicted}</td>
                  <td>{c.total}</td>
                  <td>{c.classId && classified > 0 ? `${c.percent.toFixed(1)} %` : ""}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
        <BarChart
          title="Differential"
          segments={["labelled", "predicted"]}
          items={s.counts
            .filter((c) => c.classId)
            .map((c) => ({
              key: c.classId!,
              label: classById.get(c.classId!)?.name ?? "?",
              color: classById.get(c.classId!)?.color ?? "#888",
              values: [c.labelled, c.predicted],
            }))}
        />
        <div className="legend" aria-label="Classes (press the key to reclassify the selection)">
          {classes.map((c) => (
            <button
              key={c.id}
              type="button"
              disabled={selection.size === 0}
              onClick={() => void apply(c)}
              style={{ border: "none", padding: 0, background: "none" }}
              aria-label={`Reclassify as ${c.name}`}
              data-testid="diff-class-key"
              data-class-id={c.id}
              data-class-key={c.key}
              data-shortcut={c.shortcut ?? ""}
            >
              <ClassChip name={c.name} color={c.color} shortcut={c.shortcut} />
            </button>
          ))}
          <span className="small muted" data-testid="diff-selected">
            {selection.size} selected
          </span>
        </div>
        {notice ? (
          <p className="notice small" role="status">
            {notice}
          </p>
        ) : null}
      </div>
      {galleries.length === 0 ? <div className="panel">No cells here.</div> : null}
      {galleries.map((c) => {
        const cls = c.classId ? classById.get(c.classId) : undefined;
        return (
          <ClassGallery
            key={c.classId ?? "none"}
            projectId={projectId}
            scope={scope}
            classId={c.classId}
            total={c.total}
            selection={selection}
            onPick={onPick}
            title={
              <>
                {cls ? <ClassChip name={cls.name} color={cls.color} shortcut={cls.shortcut} /> : "Unclassified"} {c.total}
                <span className="muted small">
                  {" "}
                  ({c.labelled} labelled, {c.predicted} predicted)
                </span>
              </>
            }
          />
        );
      })}
    </div>
  );
}
