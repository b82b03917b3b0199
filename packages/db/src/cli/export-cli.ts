// npm run export -- (--project <slug> | --dataset <id-or-name>) --format coco|voc|csv --labels <choice> [--scheme <key>] --out <path>
// Last stdout line: cells=<n> images=<n> left_out=<n> (unmapped=<n> unlabeled=<n> no_box=<n>).
import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { z } from "zod";
import { DomainError } from "../errors";
import { cropImageWithSharp } from "../export/crop-image-sharp";
import { exportFormats, exportLabelsParam, findDatasetByIdOrName, startExport, toLabelChoice, type ExportScope } from "../export";
import { getProjectBySlug } from "../queries/projects";
import { findUserByEmail } from "../queries/users";
import { resolveRuntimeConfig } from "../runtime-config";
import { createStorage } from "../storage";
import { CliError, openMigratedDb, parseCliOptions, repoRoot, runCli } from "./cli-support";

const USAGE = `usage: npm run export -- (--project <slug> | --dataset <id-or-name>) --format coco|voc|csv
         --labels imported|consensus|adjudicated|reader:<email> [--scheme <key>] --out <path>
         [--database-url <url>] [--storage-dir <dir>]

  coco: COCO JSON   voc: zip of Annotations/ + JPEGImages/   csv: zip of manifest.csv + images/ (one crop per cell)
  --scheme maps the labels to another scheme (e.g. wbc-5); cells whose class maps to nothing are left out.`;

const text = z.string().trim().min(1);
const argsSchema = z
  .object({
    project: text.optional(),
    dataset: text.optional(),
    format: z.enum(exportFormats),
    labels: exportLabelsParam,
    scheme: text.optional(),
    out: text,
    "database-url": z.string().url().optional(),
    "storage-dir": text.optional(),
  })
  .refine((a) => [a.project, a.dataset].filter(Boolean).length === 1, { message: "give exactly one of --project, --dataset" });

function parseCliArgs(argv: string[]) {
  return parseCliOptions(
    argv,
    ["project", "dataset", "format", "labels", "scheme", "out", "database-url", "storage-dir"],
    argsSchema,
    USAGE,
  );
}

async function main() {
  const args = parseCliArgs(process.argv.slice(2));
  let config;
  try {
    config = resolveRuntimeConfig(process.env, repoRoot);
  } catch (error) {
    throw new CliError(`bad environment: ${(error as Error).message}`, 2);
  }
  if (args["database-url"]) config = { ...config, databaseUrl: args["database-url"] };
  if (args["storage-dir"]) {
    const storageDir = path.resolve(args["storage-dir"]);
    config = { ...config, storageDir, storage: { kind: "local" as const, dir: storageDir } };
  }
  const out = path.resolve(args.out);
  const partial = `${out}.partial`;

  const { handle, where } = await openMigratedDb(config);
  const storage = createStorage(config.storage);
  try {
    const db = handle.db;
    const scope: ExportScope = args.project
      ? { projectId: (await getProjectBySlug(db, args.project)).id }
      : { datasetId: (await findDatasetByIdOrName(db, args.dataset!)).id };
    const labels = await toLabelChoice(args.labels, async (email) => (await findUserByEmail(db, email))?.id ?? null);
    console.error(`[export] ${args.format} from ${where}, storage ${storage.location} -> ${out}`);
    // The operator at the console is not a user of the app: the audit event has no actor.
    const started = await startExport(db, storage, {
      scope,
      labels,
      schemeKey: args.scheme,
      format: args.format,
      actorId: null,
      cropImage: cropImageWithSharp,
    });
    // Written next to the target and renamed, so a failed export never leaves a file that looks complete.
    await pipeline(started.stream, createWriteStream(partial));
    await rename(partial, out);
    const { cells, images, leftOut } = started.counts;
    const total = leftOut.unmapped + leftOut.unlabeled + leftOut.noBox;
    console.log(
      `cells=${cells} images=${images} left_out=${total} (unmapped=${leftOut.unmapped} unlabeled=${leftOut.unlabeled} no_box=${leftOut.noBox})`,
    );
  } catch (error) {
    await rm(partial, { force: true });
    if (error instanceof DomainError) throw new CliError(error.message, 2);
    throw error;
  } finally {
    await handle.close();
  }
}

runCli(main);
