import { parse } from "csv-parse/sync";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { type ImportEntry, ImportSetupError } from "./import-types";

const REQUIRED_COLUMNS = ["file", "label"] as const;

const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v ? v : null));

const rowSchema = z.object({
  file: z.string().trim().min(1, "empty file"),
  label: z.string().trim().min(1, "empty label"),
  patient: optionalText,
  smear: optionalText,
  sublabel: optionalText,
});

const ROOT_NAME = "the manifest's folder";

/**
 * Reads a manifest CSV. A bad header is fatal (thrown before anything is written); a bad row becomes
 * a rejected entry with its line number. Rows are parsed one physical line at a time so that one
 * stray quote cannot swallow the rest of the file (quoted fields therefore cannot span lines).
 */
export async function readManifestSource(file: string): Promise<ImportEntry[]> {
  const manifestPath = path.resolve(file);
  const root = path.dirname(manifestPath);
  const name = path.basename(manifestPath);
  const { lines, headerIndex, columns } = await readManifestLines(file);

  const entries: ImportEntry[] = [];
  for (let i = headerIndex + 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "") continue;
    const lineNo = i + 1;
    // Reasons name the manifest as well as the line; a row's own file (when it has one) is what is rejected.
    const origin = `${name} line ${lineNo}`;
    let rowFile = "";
    const rejected = (reason: string): ImportEntry => ({
      file: rowFile || `${name}:${lineNo}`,
      origin,
      root,
      rootName: ROOT_NAME,
      relativePath: "",
      cells: [],
      unknownLabel: "reject",
      rejectReason: reason,
    });

    let fields: string[];
    try {
      const records = parse(line, { relax_column_count: true });
      if (records.length !== 1) throw new Error(`found ${records.length} records`);
      fields = records[0]!;
    } catch (error) {
      // csv-parse counts lines within the one line it was given ("at line 1"): drop that.
      entries.push(rejected(`malformed CSV row (${firstLine((error as Error).message).replace(/\s*at line \d+/, "")})`));
      continue;
    }
    rowFile = (fields[columns.indexOf("file")] ?? "").trim();
    if (fields.length !== columns.length) {
      entries.push(rejected(`malformed CSV row: expected ${columns.length} columns, found ${fields.length}`));
      continue;
    }
    const parsed = rowSchema.safeParse(Object.fromEntries(columns.map((c, j) => [c, fields[j]])));
    if (!parsed.success) {
      entries.push(rejected(`malformed CSV row: ${parsed.error.issues.map((issue) => issue.message).join(", ")}`));
      continue;
    }
    const row = parsed.data;
    entries.push({
      file: row.file,
      origin,
      root,
      rootName: ROOT_NAME,
      relativePath: row.file,
      cells: [{ geometry: "whole", rawLabel: row.label, sourceLabel: row.sublabel ?? row.label }],
      unknownLabel: "reject",
      patient: row.patient,
      smear: row.smear,
    });
  }
  return entries;
}

/** Reads the manifest and checks its header; throws ImportSetupError when unusable. */
export async function readManifestLines(file: string): Promise<{ lines: string[]; headerIndex: number; columns: string[] }> {
  let text: string;
  try {
    text = await readFile(path.resolve(file), "utf8");
  } catch (error) {
    throw new ImportSetupError(`cannot read manifest ${file}: ${(error as Error).message}`);
  }
  const lines = text.replace(/^\uFEFF/, "").split(/\r\n|\n|\r/);
  const headerIndex = lines.findIndex((l) => l.trim() !== "");
  if (headerIndex < 0) throw new ImportSetupError(`manifest ${file} is empty`);
  return { lines, headerIndex, columns: parseHeader(lines[headerIndex]!, file) };
}

function parseHeader(line: string, file: string): string[] {
  let header: string[];
  try {
    header = parse(line)[0] ?? [];
  } catch (error) {
    throw new ImportSetupError(`manifest ${file} has an unreadable header line: ${firstLine((error as Error).message)}`);
  }
  const columns = header.map((c) => c.trim().toLowerCase());
  const missing = REQUIRED_COLUMNS.filter((c) => !columns.includes(c));
  if (missing.length > 0) {
    throw new ImportSetupError(
      `manifest ${file} is missing the required column${missing.length > 1 ? "s" : ""} ${missing.map((m) => `"${m}"`).join(", ")} ` +
        `(header: ${header.join(",")}; required: ${REQUIRED_COLUMNS.join(",")}, optional: patient,smear,sublabel)`,
    );
  }
  const duplicate = columns.find((c, i) => c !== "" && columns.indexOf(c) !== i);
  if (duplicate) throw new ImportSetupError(`manifest ${file} has the column "${duplicate}" twice`);
  return columns;
}

function firstLine(message: string): string {
  return message.split("\n")[0] ?? message;
}
