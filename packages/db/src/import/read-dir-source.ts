import type { Dirent } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { type ImportEntry, ImportSetupError } from "./import-types";

const ROOT_NAME = "the import folder";

/** Lists `<class>/<image>` (any depth below the class folder). Hidden files and folders are skipped. */
export async function readDirSource(dir: string): Promise<ImportEntry[]> {
  const root = path.resolve(dir);
  await assertDirectory(root, "import folder");
  const entries: ImportEntry[] = [];
  for (const top of await sortedEntries(root)) {
    if (top.isDirectory()) {
      for await (const rel of walkFiles(root, top.name)) {
        entries.push({
          file: rel,
          root,
          rootName: ROOT_NAME,
          relativePath: rel,
          cells: [{ geometry: "whole", rawLabel: top.name, sourceLabel: top.name }],
          unknownLabel: "reject",
        });
      }
    } else {
      entries.push({
        file: top.name,
        root,
        rootName: ROOT_NAME,
        relativePath: top.name,
        cells: [],
        unknownLabel: "reject",
        rejectReason: "not inside a class folder (expected <class>/<image>)",
      });
    }
  }
  return entries;
}

/** Files (and symlinks, which are checked later) below root/rel; symlinked folders are not followed. */
async function* walkFiles(root: string, rel: string): AsyncGenerator<string> {
  for (const entry of await sortedEntries(path.join(root, rel))) {
    const childRel = `${rel}/${entry.name}`;
    if (entry.isDirectory()) yield* walkFiles(root, childRel);
    else yield childRel;
  }
}

async function sortedEntries(dir: string): Promise<Dirent[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.filter((e) => !e.name.startsWith(".")).sort((a, b) => a.name.localeCompare(b.name));
}

export async function assertDirectory(dir: string, what: string): Promise<void> {
  try {
    if ((await stat(dir)).isDirectory()) return;
  } catch {
    throw new ImportSetupError(`${what} ${dir} does not exist`);
  }
  throw new ImportSetupError(`${what} ${dir} is not a folder`);
}
