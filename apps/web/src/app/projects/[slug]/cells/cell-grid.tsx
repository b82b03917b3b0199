"use client";

import type { CellLabelRef, CellListItem, ClassSummary } from "@hemaloop/db/queries";
import { ClassChip, cropBackground } from "@hemaloop/ui";
import { useMutation } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { trpcDomainDetails, trpcErrorCode, useTRPC } from "../../../../trpc/client";

type Props = { projectId: string; classes: ClassSummary[]; items: CellListItem[] };

/**
 * Thumbnail grid with the imported label chip and my own label. Minimal crop-mode labeling: pick a
 * cell (click or arrow keys), press a class shortcut, and it saves and moves to the next cell.
 * Server data (props) and my saved edits (local state) are kept apart.
 */
export function CellGrid({ projectId, classes, items }: Props) {
  const trpc = useTRPC();
  const [selected, setSelected] = useState(0);
  const [edits, setEdits] = useState<Record<string, CellLabelRef>>({});
  const [saving, setSaving] = useState<Record<string, boolean>>({});
  const [notice, setNotice] = useState<string | null>(null);
  const cellRefs = useRef<Array<HTMLButtonElement | null>>([]);
  const save = useMutation(trpc.label.save.mutationOptions());

  const classById = useMemo(() => new Map(classes.map((c) => [c.id, c])), [classes]);
  const myLabel = (item: CellListItem): CellLabelRef | null => edits[item.cellId] ?? item.myLabel;

  const applyLabel = useCallback(
    async (index: number, cls: ClassSummary) => {
      const item = items[index];
      if (!item || saving[item.cellId]) return;
      const current = edits[item.cellId] ?? item.myLabel;
      setSaving((s) => ({ ...s, [item.cellId]: true }));
      setNotice(null);
      try {
        const saved = await save.mutateAsync({
          projectId,
          cellId: item.cellId,
          classId: cls.id,
          expectedVersion: current?.version ?? null,
        });
        setEdits((e) => ({
          ...e,
          [item.cellId]: { labelId: saved.id, classId: cls.id, key: cls.key, name: cls.name, color: cls.color, version: saved.version },
        }));
        setSelected((i) => Math.min(items.length - 1, i === index ? index + 1 : i));
      } catch (error) {
        if (trpcErrorCode(error) === "CONFLICT") {
          const latest = trpcDomainDetails<{ current?: { id: string; classId: string; version: number } | null }>(error)?.current;
          const latestClass = latest ? classById.get(latest.classId) : undefined;
          if (latest && latestClass) {
            setEdits((e) => ({
              ...e,
              [item.cellId]: {
                labelId: latest.id,
                classId: latestClass.id,
                key: latestClass.key,
                name: latestClass.name,
                color: latestClass.color,
                version: latest.version,
              },
            }));
          }
          setNotice(
            "This label was changed elsewhere (another tab or session). Showing the current one; press the key again to overwrite it.",
          );
        } else {
          setNotice(error instanceof Error ? error.message : "Could not save the label.");
        }
      } finally {
        setSaving((s) => ({ ...s, [item.cellId]: false }));
      }
    },
    [items, edits, saving, projectId, save, classById],
  );

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const target = e.target as HTMLElement | null;
      if (target && (target.tagName === "INPUT" || target.tagName === "SELECT" || target.tagName === "TEXTAREA")) return;
      if (e.key === "ArrowRight" || e.key === "ArrowDown") {
        setSelected((i) => Math.min(items.length - 1, i + 1));
        e.preventDefault();
        return;
      }
      if (e.key === "ArrowLeft" || e.key === "ArrowUp") {
        setSelected((i) => Math.max(0, i - 1));
        e.preventDefault();
        return;
      }
      const cls = classes.find((c) => c.shortcut !== null && c.shortcut.toLowerCase() === e.key.toLowerCase());
      if (cls) {
        e.preventDefault();
        void applyLabel(selected, cls);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [applyLabel, classes, items.length, selected]);

  useEffect(() => {
    cellRefs.current[selected]?.scrollIntoView({ block: "nearest" });
  }, [selected]);

  if (items.length === 0) return <div className="panel">No cells match.</div>;

  return (
    <div>
      <div className="panel">
        <div className="legend" aria-label="Classes (press the key to label the selected cell)">
          {classes.map((c) => (
            <button
              key={c.id}
              type="button"
              onClick={() => void applyLabel(selected, c)}
              style={{ border: "none", padding: 0, background: "none" }}
              aria-label={`Label as ${c.name}`}
            >
              <ClassChip name={c.name} color={c.color} shortcut={c.shortcut} />
            </button>
          ))}
        </div>
        <p className="muted small" style={{ marginBottom: 0 }}>
          Select a cell, then press a class key. Arrow keys move; the next cell is selected after each label. Outlined chip = imported
          label, filled chip = yours.
        </p>
        {notice ? (
          <p className="notice small" role="status">
            {notice}
          </p>
        ) : null}
      </div>
      <div className="cell-grid" data-testid="cell-grid">
        {items.map((item, i) => {
          const mine = myLabel(item);
          return (
            <button
              key={item.cellId}
              ref={(el) => {
                cellRefs.current[i] = el;
              }}
              type="button"
              className={`cell${i === selected ? " selected" : ""}`}
              data-testid="cell"
              data-cell-id={item.cellId}
              aria-pressed={i === selected}
              onClick={() => setSelected(i)}
            >
              {item.geometry === "box" && item.x !== null && item.y !== null && item.width && item.height ? (
                <span
                  className="crop"
                  role="img"
                  aria-label={`cell on ${item.imageName}`}
                  style={{
                    backgroundImage: `url(/api/files/${item.storageKey})`,
                    ...cropBackground(
                      { x: item.x, y: item.y, width: item.width, height: item.height },
                      { width: item.imageWidth, height: item.imageHeight },
                    ),
                  }}
                />
              ) : (
                // eslint-disable-next-line @next/next/no-img-element -- authenticated bytes from /api/files
                <img
                  className="thumb"
                  src={`/api/files/${item.thumbnailKey}`}
                  alt={item.imageName}
                  loading="lazy"
                  data-testid="cell-thumb"
                />
              )}
              <span className="chips">
                {item.importedLabel ? (
                  <ClassChip
                    variant="outline"
                    name={item.importedLabel.name}
                    color={item.importedLabel.color}
                    title={`imported: ${item.importedLabel.name}`}
                  />
                ) : null}
                {mine ? <ClassChip name={mine.name} color={mine.color} title={`your label: ${mine.name}`} /> : null}
                {!mine && !item.importedLabel && item.sourceLabel ? (
                  <span className="muted small" title="label from the source data">
                    {item.sourceLabel}
                  </span>
                ) : null}
              </span>
              {saving[item.cellId] ? <span className="saving">saving…</span> : null}
            </button>
          );
        })}
      </div>
    </div>
  );
}
