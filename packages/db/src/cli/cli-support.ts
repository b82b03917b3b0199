// Shared by the db CLIs (entry points: they may read process.env; library code may not).
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import postgres from "postgres";
import type { z } from "zod";
import { createDb, type DbHandle } from "../client";
import { ensurePrivateDir, resolveDbConfig, type RuntimeConfig } from "../runtime-config";
import { seedBuiltInSchemes } from "../seed/seed-schemes";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");

/** An error whose message is all the user needs; printed without a stack. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "CliError";
  }
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}

/** Opens the configured database (URL, running embedded server, or the PGlite dir), migrated and with the built-in schemes. */
export async function openMigratedDb(config: RuntimeConfig): Promise<{ handle: DbHandle; where: string }> {
  const dbConfig = resolveDbConfig(config);
  let where: string;
  if (dbConfig.url) {
    where = `PostgreSQL ${redactUrl(dbConfig.url)}`;
    await assertReachable(dbConfig.url);
  } else {
    where = `PGlite ${dbConfig.dataDir}`;
    ensurePrivateDir(config.dataDir);
    mkdirSync(dbConfig.dataDir!, { recursive: true });
  }
  let handle: DbHandle;
  try {
    handle = await createDb(dbConfig);
  } catch (error) {
    throw new CliError(`cannot open ${where}: ${(error as Error).message}`);
  }
  try {
    await handle.migrate();
    await seedBuiltInSchemes(handle.db);
  } catch (error) {
    await handle.close().catch(() => {});
    throw new CliError(`cannot migrate ${where}: ${(error as Error).message}`);
  }
  return { handle, where };
}

/** Fails fast: postgres-js would otherwise retry for 30 s before the first query gives up. */
async function assertReachable(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await sql`select 1`;
  } catch (error) {
    throw new CliError(`cannot reach the database at ${redactUrl(url)}: ${(error as Error).message}`);
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

/** Runs a CLI main: CliError -> its message and exit code; anything else -> message + stack, exit 1. */
export function runCli(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      if (error instanceof CliError) {
        console.error(`error: ${error.message}`);
        process.exit(error.exitCode);
      }
      console.error(error);
      process.exit(1);
    },
  );
}

/**
 * Parses `--name value` string options (plus `--help`/`-h`, which prints the usage and exits) and
 * validates them with `schema`. Unknown options and schema failures are CliErrors (exit 2) that end
 * with the usage text.
 */
export function parseCliOptions<T>(argv: string[], names: readonly string[], schema: z.ZodType<T>, usage: string): T {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: "boolean", short: "h" },
        ...Object.fromEntries(names.map((name) => [name, { type: "string" } as const])),
      },
    }));
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n${usage}`, 2);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const parsed = schema.safeParse(values);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => (i.path.length ? `--${i.path.join(".")}: ${i.message}` : i.message));
    throw new CliError(`${problems.join("; ")}\n${usage}`, 2);
  }
  return parsed.data;
}
