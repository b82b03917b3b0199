"use client";

import { findShapeProblem } from "@hemaloop/db/geometry";
import type { CellLabelRef, CellListItem, ClassSummary } from "@hemaloop/db/queries";
import { ClassChip } from "@hemaloop/ui";
import {
  type CanvasCell,
  type DrawnShape,
  emptyHistory,
  type FieldCanvasHandle,
  FieldCanvasViewer,
  type FieldEdit,
  type FieldTool,
  planRedo,
  planUndo,
  recordEdit,
  shapeBounds,
} from "@hemaloop/ui/viewer";
import { useEffect, useMemo, useRef, useState } from "react";
import { trpcDomainDetails, trpcErrorCode, useTRPCClient } from "../../../../../trpc/client";

type Props = {
  projectId: string;
  imageId: string;
  dziUrl: string;
  imageSize: { width: number; height: number };
  cells: CellListItem[];
  classes: ClassSummary[];
};

/** A cell as the editor holds it: shape, geometry version, my label (with its version) and the imported one. */
type EditorCell = {
  id: string;
  shape: DrawnShape;
  version: number;
  mine: { classId: string; version: number } | null;
  imported: CellLabelRef | null;
  sourceLabel: string | null;
};

/** What the server sends back for a cell (mutations and CONFLICT details). */
type ServerCell = {
  id: string;
  geometry: string;
  x: number | null;
  y: number | null;
  width: number | null;
  height: number | null;
  points: Array<[number, number]> | null;
  version: number;
  deletedAt: Date | string | null;
};

const UNLABELLED = "#ffd400";
const TOOLS: Array<{ tool: FieldTool; name: string; key: string }> = [
  { tool: "select", name: "Select", key: "v" },
  { tool: "point", name: "Point", key: "p" },
  { tool: "box", name: "Box", key: "b" },
  { tool: "polygon", name: "Polygon", key: "g" },
];

function toShape(c: Pick<ServerCell, "geometry" | "x" | "y" | "width" | "height" | "points">): DrawnShape | null {
  if (c.geometry === "point" && c.x !== null && c.y !== null) return { geometry: "point", x: c.x, y: c.y };
  if (c.geometry === "box" && c.x !== null && c.y !== null && c.width !== null && c.height !== null)
    return { geometry: "box", x: c.x, y: c.y, width: c.width, height: c.height };
  if (c.geometry === "polygon" && c.points && c.points.length >= 3) return { geometry: "polygon", points: c.points };
  return null;
}

/** "x,y,width,height" rounded: lets a test (and a curious reader) see where a cell is. */
function boundsText(shape: DrawnShape): string {
  const b = shapeBounds(shape);
  return [b.x, b.y, b.width, b.height].map((n) => Math.round(n)).join(",");
}

function fromListItem(c: CellListItem): EditorCell | null {
  const shape = toShape(c);
  if (!shape) return null;
  return {
    id: c.cellId,
    shape,
    version: c.cellVersion,
    mine: c.myLabel ? { classId: c.myLabel.classId, version: c.myLabel.version } : null,
    imported: c.importedLabel,
    sourceLabel: c.sourceLabel,
  };
}

/**
 * Field annotation: every cell on one canvas over the deep-zoom image. Draw points, boxes and polygons,
 * move and resize the selected cell, Delete removes it, a class key labels it, Ctrl+Z / Ctrl+Shift+Z
 * undo and redo as server mutations. Every change is saved at once, one after another; a change made
 * elsewhere meanwhile is a conflict, and the server's version is shown.
 */
export function FieldViewer({ projectId, imageId, dziUrl, imageSize, cells: initial, classes }: Props) {
  const client = useTRPCClient();
  const viewer = useRef<FieldCanvasHandle>(null);
  const [cells, setCellsState] = useState<Map<string, EditorCell>>(
    () => new Map(initial.flatMap((c) => (fromListItem(c) ? [[c.cellId, fromListItem(c)!] as const] : []))),
  );
  const cellsRef = useRef(cells);
  const setCells = (update: (m: Map<string, EditorCell>) => Map<string, EditorCell>) => {
    cellsRef.current = update(cellsRef.current);
    setCellsState(cellsRef.current);
  };
  // Deleted cells stay here (with their version) so undo can restore them.
  const deleted = useRef(new Map<string, EditorCell>());
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [tool, setTool] = useState<FieldTool>("select");
  // The class new cells are drawn with (one create call saves cell and label); null = unlabelled.
  const [drawClassId, setDrawClassId] = useState<string | null>(null);
  const [pending, setPending] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const history = useRef(emptyHistory());
  const queue = useRef<Promise<unknown>>(Promise.resolve());
  const classById = useMemo(() => new Map(classes.map((c) => [c.id, c])), [classes]);

  /** Runs saves one at a time, so each uses the version the previous one returned. */
  const enqueue = (op: () => Promise<void>) => {
    setPending((n) => n + 1);
    queue.current = queue.current
      .then(op)
      .then(() => setError(null))
      .catch((e: unknown) => handleError(e))
      .finally(() => setPending((n) => n - 1));
  };

  const applyServerCell = (server: ServerCell) => {
    const shape = toShape(server);
    setCells((m) => {
      const next = new Map(m);
      const known = m.get(server.id) ?? deleted.current.get(server.id);
      if (server.deletedAt || !shape) {
        if (known) deleted.current.set(server.id, { ...known, version: server.version });
        next.delete(server.id);
      } else {
        deleted.current.delete(server.id);
        next.set(server.id, {
          ...(known ?? { mine: null, imported: null, sourceLabel: null }),
          id: server.id,
          shape,
          version: server.version,
        });
      }
      return next;
    });
  };

  const handleError = (e: unknown) => {
    if (trpcErrorCode(e) === "CONFLICT") {
      // A cell conflict carries the current cell (with geometry); a label conflict the current label.
      const current = trpcDomainDetails<{ current?: Record<string, unknown> }>(e)?.current;
      if (current && "geometry" in current) applyServerCell(current as unknown as ServerCell);
      else if (current && typeof current.cellId === "string" && typeof current.classId === "string") {
        const cellId = current.cellId;
        const mine = { classId: current.classId, version: Number(current.version) };
        setCells((m) => {
          const c = m.get(cellId);
          return c ? new Map(m).set(cellId, { ...c, mine }) : m;
        });
      }
      setError("Changed elsewhere meanwhile: showing the saved version. Your change was not applied.");
      history.current = emptyHistory();
    } else {
      setError(e instanceof Error ? e.message : "could not save");
    }
  };

  const runEdit = async (edit: FieldEdit): Promise<void> => {
    const current = cellsRef.current.get(edit.cellId) ?? deleted.current.get(edit.cellId);
    if (!current) throw new Error("that cell is no longer here");
    if (edit.kind === "delete" || edit.kind === "create") {
      applyServerCell(await client.fieldCell.remove.mutate({ projectId, cellId: edit.cellId, expectedVersion: current.version }));
    } else if (edit.kind === "restore") {
      applyServerCell(await client.fieldCell.restore.mutate({ projectId, cellId: edit.cellId, expectedVersion: current.version }));
    } else if (edit.kind === "reshape") {
      setCells((m) => new Map(m).set(edit.cellId, { ...current, shape: edit.to }));
      applyServerCell(
        await client.fieldCell.updateShape.mutate({ projectId, cellId: edit.cellId, expectedVersion: current.version, shape: edit.to }),
      );
    } else {
      const saved = await client.fieldCell.setClass.mutate({
        projectId,
        cellId: edit.cellId,
        classId: edit.to,
        expectedVersion: current.mine?.version ?? null,
      });
      setCells((m) => {
        const c = m.get(edit.cellId);
        return c ? new Map(m).set(edit.cellId, { ...c, mine: { classId: saved.classId, version: saved.version } }) : m;
      });
    }
  };

  const userEdit = (edit: FieldEdit) =>
    enqueue(async () => {
      await runEdit(edit);
      history.current = recordEdit(history.current, edit);
    });

  const createCell = (shape: DrawnShape) =>
    enqueue(async () => {
      const { cell, label } = await client.fieldCell.create.mutate({ projectId, imageId, shape, classId: drawClassId });
      applyServerCell(cell);
      if (label) {
        const mine = { classId: label.classId, version: label.version };
        setCells((m) => {
          const c = m.get(cell.id);
          return c ? new Map(m).set(cell.id, { ...c, mine }) : m;
        });
      }
      setSelectedId(cell.id);
      history.current = recordEdit(history.current, { kind: "create", cellId: cell.id });
    });

  const classify = (cellId: string, classId: string) => {
    const c = cellsRef.current.get(cellId);
    if (!c) return;
    // Optimistic: the colour changes at once.
    setCells((m) => new Map(m).set(cellId, { ...c, mine: { classId, version: c.mine?.version ?? 0 } }));
    enqueue(async () => {
      const before = cellsRef.current.get(cellId);
      const from = c.mine?.classId;
      const saved = await client.fieldCell.setClass.mutate({
        projectId,
        cellId,
        classId,
        expectedVersion: before?.mine?.version ? before.mine.version : null,
      });
      setCells((m) => {
        const x = m.get(cellId);
        return x ? new Map(m).set(cellId, { ...x, mine: { classId: saved.classId, version: saved.version } }) : m;
      });
      // A first label cannot be taken back (labels are never deleted), so only a change is undoable.
      if (from && from !== classId) history.current = recordEdit(history.current, { kind: "classify", cellId, from, to: classId });
    });
  };

  const undoRedo = (redo: boolean) =>
    enqueue(async () => {
      const plan = redo ? planRedo(history.current) : planUndo(history.current);
      if (!plan) return;
      await runEdit(plan.run);
      history.current = plan.next;
    });

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement) return;
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "z") {
        e.preventDefault();
        undoRedo(e.shiftKey);
        return;
      }
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if ((e.key === "Delete" || e.key === "Backspace") && selectedId) {
        e.preventDefault();
        const id = selectedId;
        setSelectedId(null);
        userEdit({ kind: "delete", cellId: id });
        return;
      }
      const cls = classes.find((c) => c.shortcut !== null && c.shortcut.toLowerCase() === e.key.toLowerCase());
      if (cls && selectedId) {
        e.preventDefault();
        classify(selectedId, cls.id);
        return;
      }
      // No cell selected: a class key picks (or, pressed again, drops) the class to draw with.
      if (cls) {
        e.preventDefault();
        setDrawClassId((current) => (current === cls.id ? null : cls.id));
        return;
      }
      const t = TOOLS.find((x) => x.key === e.key.toLowerCase());
      if (t) setTool(t.tool);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  });

  const shown = (c: EditorCell) => {
    const mine = c.mine ? classById.get(c.mine.classId) : undefined;
    return mine
      ? { name: mine.name, color: mine.color, mine: true }
      : c.imported
        ? { name: c.imported.name, color: c.imported.color, mine: false }
        : null;
  };
  const list = useMemo(() => [...cells.values()], [cells]);
  const canvasCells: CanvasCell[] = useMemo(
    () =>
      list.map((c) => {
        const s = shown(c);
        return { id: c.id, shape: c.shape, color: s?.color ?? UNLABELLED, label: s?.name ?? c.sourceLabel ?? undefined };
      }),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [list, classById],
  );
  const saveState = pending > 0 ? "Saving…" : error ? `Not saved: ${error}` : "All changes saved";

  return (
    <div className="viewer-layout">
      <div className="panel" style={{ padding: 8 }}>
        <div role="toolbar" aria-label="Drawing tools" style={{ display: "flex", gap: 6, marginBottom: 6, alignItems: "center" }}>
          {TOOLS.map((t) => (
            <button
              key={t.tool}
              type="button"
              aria-pressed={tool === t.tool}
              className={tool === t.tool ? "selected" : ""}
              onClick={() => setTool(t.tool)}
            >
              {t.name} <kbd>{t.key.toUpperCase()}</kbd>
            </button>
          ))}
          <span
            className="small"
            data-testid="save-state"
            data-pending={pending > 0 ? "true" : "false"}
            role="status"
            style={{ marginLeft: "auto" }}
          >
            {saveState}
          </span>
        </div>
        <FieldCanvasViewer
          ref={viewer}
          dziUrl={dziUrl}
          imageSize={imageSize}
          cells={canvasCells}
          selectedId={selectedId}
          tool={tool}
          onSelect={setSelectedId}
          onCreate={(shape) => {
            const problem = findShapeProblem(shape, imageSize);
            if (problem) setNotice(problem);
            else createCell(shape);
          }}
          onReshape={(id, shape) => {
            const c = cellsRef.current.get(id);
            if (c) userEdit({ kind: "reshape", cellId: id, from: c.shape, to: shape });
          }}
          validateShape={(shape) => findShapeProblem(shape, imageSize)}
          onInvalidShape={setNotice}
          prefixUrl="/osd-images/"
        />
      </div>
      <aside className="panel">
        <h2>Cells</h2>
        <div className="legend" style={{ marginBottom: 8 }} role="group" aria-label="Class for new cells">
          {classes.map((c) => (
            <button
              key={c.id}
              type="button"
              aria-pressed={drawClassId === c.id}
              data-draw-class={drawClassId === c.id ? "true" : "false"}
              title={drawClassId === c.id ? `New cells are drawn as ${c.name} (click to stop)` : `Draw new cells as ${c.name}`}
              onClick={() => setDrawClassId((current) => (current === c.id ? null : c.id))}
              style={{
                background: "none",
                border: "none",
                padding: 0,
                borderRadius: 999,
                boxShadow: drawClassId === c.id ? "0 0 0 2px #1f2937" : "none",
                opacity: drawClassId && drawClassId !== c.id ? 0.5 : 1,
              }}
            >
              <ClassChip name={c.name} color={c.color} shortcut={c.shortcut} />
            </button>
          ))}
        </div>
        <p className="small" data-testid="draw-class">
          New cells: {drawClassId ? (classById.get(drawClassId)?.name ?? "unknown class") : "unlabelled"}
        </p>
        <p className="muted small">
          Select a cell, then press a class key to label it, Delete to remove it; with no cell selected a class key (or a click on a class)
          picks the class new cells are drawn with; drag it or its handles to move or resize. Ctrl+Z undoes, Ctrl+Shift+Z redoes. Polygons:
          click the corners, then click the first one, double-click or press Enter.
        </p>
        {notice ? (
          <p className="notice small" role="alert">
            {notice}
          </p>
        ) : null}
        <ul className="cell-list" data-testid="field-cells">
          {list.map((c, i) => {
            const s = shown(c);
            return (
              <li key={c.id}>
                <button
                  type="button"
                  data-cell-id={c.id}
                  data-bounds={boundsText(c.shape)}
                  className={selectedId === c.id ? "selected" : ""}
                  onClick={() => {
                    setSelectedId(c.id);
                    viewer.current?.focusCell(c.id);
                  }}
                >
                  <span className="small">
                    #{i + 1} {c.shape.geometry}
                  </span>
                  {s ? (
                    <ClassChip name={s.name} color={s.color} variant={s.mine ? "solid" : "outline"} />
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
