import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";

/**
 * Runtime settings shared by the web app, the trainer and the CLIs. Entry points call
 * resolveRuntimeConfig(process.env) once and pass the result down; packages never read env.
 */
export type RuntimeConfig = {
  /** postgres:// URL; absent = embedded PGlite in `pgliteDir`. */
  databaseUrl?: string;
  /** Root for embedded state: PGlite data, local storage, the embedded server's address file. */
  dataDir: string;
  pgliteDir: string;
  storageDir: string;
  /** Reject images over this many pixels (decompression-bomb guard). */
  maxImagePixels: number;
};

const envSchema = z.object({
  DATABASE_URL: z.string().url().optional().or(z.literal("").transform(() => undefined)),
  HEMALOOP_DATA_DIR: z.string().optional(),
  HEMALOOP_STORAGE_DIR: z.string().optional(),
  HEMALOOP_MAX_IMAGE_PIXELS: z.coerce.number().int().positive().optional(),
});

export function resolveRuntimeConfig(env: Record<string, string | undefined>, repoRoot: string): RuntimeConfig {
  const parsed = envSchema.parse(env);
  const dataDir = path.resolve(repoRoot, parsed.HEMALOOP_DATA_DIR ?? ".data");
  return {
    databaseUrl: parsed.DATABASE_URL,
    dataDir,
    pgliteDir: path.join(dataDir, "pglite"),
    storageDir: path.resolve(repoRoot, parsed.HEMALOOP_STORAGE_DIR ?? path.join(dataDir, "storage")),
    maxImagePixels: parsed.HEMALOOP_MAX_IMAGE_PIXELS ?? 50_000_000,
  };
}

/** Written by the embedded database server so other processes connect to it instead of the data dir. */
export function embeddedServerFile(dataDir: string): string {
  return path.join(dataDir, "embedded-db.json");
}

/** The URL of a running embedded server for this data dir, if its process is alive. */
export function findEmbeddedServerUrl(dataDir: string): string | undefined {
  const file = embeddedServerFile(dataDir);
  if (!existsSync(file)) return undefined;
  try {
    const info = z.object({ url: z.string(), pid: z.number() }).parse(JSON.parse(readFileSync(file, "utf8")));
    process.kill(info.pid, 0);
    return info.url;
  } catch {
    return undefined;
  }
}

/** DbConfig for createDb: the explicit URL, else a running embedded server, else the PGlite dir. */
export function resolveDbConfig(config: RuntimeConfig): { url?: string; dataDir?: string } {
  if (config.databaseUrl) return { url: config.databaseUrl };
  const embeddedUrl = findEmbeddedServerUrl(config.dataDir);
  return embeddedUrl ? { url: embeddedUrl } : { dataDir: config.pgliteDir };
}
