"use client";

import type { CellLabelRef, CellListItem, ClassSummary } from "@hemaloop/db/queries";
import { ClassChip } from "@hemaloop/ui";
import { DeepZoomViewer, type DeepZoomViewerHandle, type ViewerBox } from "@hemaloop/ui/viewer";
import { useMutation } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState } from "react";
import { trpcDomainDetails, trpcErrorCode, useTRPC } from "../../../../../trpc/client";

type Props = {
  projectId: string;
  dziUrl: string;
  imageSize: { width: number; height: number };
  cells: CellListItem[];
  classes: ClassSummary[];
};

const UNLABELLED = "#ffd400";

/**
 * Smear field in the deep-zoom viewer with the cells' boxes coloured by label (mine, else imported).
 * Click a box (or a row) to select it; a class key labels the selected cell.
 */
export function FieldViewer({ projectId, dziUrl, imageSize, cells, classes }: Props) {
  const trpc = useTRPC();
  const viewer = useRef<DeepZoomViewerHandle>(null);
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [edits, setEdits] = useState<Record<string, CellLabelRef>>({});
  const [drafts, setDrafts] = useState<ViewerBox[]>([]);
  const [drawMode, setDrawMode] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const save = useMutation(trpc.label.save.mutationOptions());

  const boxCells = useMemo(
    () => cells.filter((c) => c.geometry === "box" && c.x !== null && c.y !== null && c.width !== null && c.height !== null),
    [cells],
  );
  const boxes: ViewerBox[] = useMemo(
    () =>
      boxCells.map((c) => {
        const shown = edits[c.cellId] ?? c.myLabel ?? c.importedLabel;
        return {
          id: c.cellId,
          x: c.x!,
          y: c.y!,
          width: c.width!,
          height: c.height!,
          color: shown?.color ?? UNLABELLED,
          label: shown?.name ?? c.sourceLabel ?? "unlabelled",
        };
      }),
    [boxCells, edits],
  );

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!selectedId || e.ctrlKey || e.metaKey || e.altKey) return;
      const cls = classes.find((c) => c.shortcut !== null && c.shortcut.toLowerCase() === e.key.toLowerCase());
      const cell = cells.find((c) => c.cellId === selectedId);
      if (!cls || !cell) return;
      e.preventDefault();
      const current = edits[cell.cellId] ?? cell.myLabel;
      setNotice(null);
      save.mutate(
        { projectId, cellId: cell.cellId, classId: cls.id, expectedVersion: current?.version ?? null },
        {
          onSuccess: (saved) =>
            setEdits((m) => ({
              ...m,
              [cell.cellId]: { labelId: saved.id, classId: cls.id, key: cls.key, name: cls.name, color: cls.color, version: saved.version },
            })),
          onError: (error) => {
            if (trpcErrorCode(error) === "CONFLICT") {
              const latest = trpcDomainDetails<{ current?: { id: string; classId: string; version: number } }>(error)?.current;
              const c = latest ? classes.find((k) => k.id === latest.classId) : undefined;
              if (latest && c)
                setEdits((m) => ({
                  ...m,
                  [cell.cellId]: { labelId: latest.id, classId: c.id, key: c.key, name: c.name, color: c.color, version: latest.version },
                }));
              setNotice("This label was changed elsewhere; showing the current one.");
            } else setNotice(error.message);
          },
        },
      );
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [selectedId, classes, cells, edits, projectId, save]);

  return (
    <div className="viewer-layout">
      <div className="panel" style={{ padding: 8 }}>
        <DeepZoomViewer
          ref={viewer}
          dziUrl={dziUrl}
          imageSize={imageSize}
          boxes={boxes}
          selectedId={selectedId}
          onBoxClick={(id) => setSelectedId(id)}
          onBackgroundClick={() => setSelectedId(null)}
          drawMode={drawMode}
          onDraftsChange={setDrafts}
          prefixUrl="/osd-images/"
        />
      </div>
      <aside className="panel">
        <h2>Cells</h2>
        <div className="legend" style={{ marginBottom: 8 }}>
          {classes.map((c) => (
            <ClassChip key={c.id} name={c.name} color={c.color} shortcut={c.shortcut} />
          ))}
        </div>
        <p className="muted small">Click a box, then press a class key to label it.</p>
        <label className="small" style={{ display: "flex", gap: 6, alignItems: "center", marginBottom: 8 }}>
          <input type="checkbox" checked={drawMode} onChange={(e) => setDrawMode(e.target.checked)} /> Draw new boxes (not saved yet)
        </label>
        {drafts.length > 0 ? (
          <p className="small">
            {drafts.length} new box{drafts.length === 1 ? "" : "es"} (local only){" "}
            <button type="button" onClick={() => viewer.current?.clearDrafts()}>
              Discard
            </button>
          </p>
        ) : null}
        {notice ? (
          <p className="notice small" role="status">
            {notice}
          </p>
        ) : null}
        <ul className="cell-list" data-testid="field-cells">
          {boxCells.map((c, i) => {
            const shown = edits[c.cellId] ?? c.myLabel ?? c.importedLabel;
            return (
              <li key={c.cellId}>
                <button
                  type="button"
                  className={selectedId === c.cellId ? "selected" : ""}
                  onClick={() => {
                    setSelectedId(c.cellId);
                    viewer.current?.focusBox(c.cellId);
                  }}
                >
                  <span className="small">#{i + 1}</span>
                  {shown ? (
                    <ClassChip name={shown.name} color={shown.color} variant={edits[c.cellId] || c.myLabel ? "solid" : "outline"} />
                  ) : (
                    <span className="muted small">{c.sourceLabel ? `${c.sourceLabel} (unlabelled)` : "unlabelled"}</span>
                  )}
                </button>
              </li>
            );
          })}
        </ul>
      </aside>
    </div>
  );
}
