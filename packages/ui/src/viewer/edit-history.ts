/**
 * Undo/redo for the field editor as a pure stack of edits. Each edit knows its inverse, and the editor
 * carries out an undo as a normal server mutation (so it is versioned, audited and can conflict like
 * any other change). Versions are not stored here: the editor uses the cell's current one when it runs.
 */
import type { DrawnShape } from "./shape-geometry";

export type FieldEdit =
  | { kind: "create"; cellId: string }
  | { kind: "delete"; cellId: string }
  | { kind: "restore"; cellId: string }
  | { kind: "reshape"; cellId: string; from: DrawnShape; to: DrawnShape }
  | { kind: "classify"; cellId: string; from: string; to: string };

export type EditHistory = { undo: FieldEdit[]; redo: FieldEdit[] };

export const emptyHistory = (): EditHistory => ({ undo: [], redo: [] });

/** Bounded so a long session does not grow without limit; the oldest edits drop off. */
export const MAX_HISTORY = 200;

/** What undoing `edit` means as a new edit: creating is undone by deleting, and so on. */
export function invertEdit(edit: FieldEdit): FieldEdit {
  switch (edit.kind) {
    case "create":
    case "restore":
      return { kind: "delete", cellId: edit.cellId };
    case "delete":
      return { kind: "restore", cellId: edit.cellId };
    case "reshape":
      return { ...edit, from: edit.to, to: edit.from };
    case "classify":
      return { ...edit, from: edit.to, to: edit.from };
  }
}

/** A new user edit: goes on the undo stack and clears redo. */
export function recordEdit(h: EditHistory, edit: FieldEdit): EditHistory {
  return { undo: [...h.undo, edit].slice(-MAX_HISTORY), redo: [] };
}

/** The mutation to run for Ctrl+Z and the history once it has succeeded; null when there is nothing to undo. */
export function planUndo(h: EditHistory): { run: FieldEdit; next: EditHistory } | null {
  const last = h.undo.at(-1);
  if (!last) return null;
  return { run: invertEdit(last), next: { undo: h.undo.slice(0, -1), redo: [...h.redo, last] } };
}

/** The mutation to run for Ctrl+Shift+Z (the undone edit again; a create comes back as a restore). */
export function planRedo(h: EditHistory): { run: FieldEdit; next: EditHistory } | null {
  const last = h.redo.at(-1);
  if (!last) return null;
  const run: FieldEdit = last.kind === "create" ? { kind: "restore", cellId: last.cellId } : last;
  return { run, next: { undo: [...h.undo, last], redo: h.redo.slice(0, -1) } };
}
