import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import type { StorageConfig } from "./storage/create-storage";

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
  /** The local storage directory (the default backend; also where `storage` points when it is local). */
  storageDir: string;
  /** Where images, pyramids and model artifacts live: the local directory, or a bucket when HEMALOOP_S3_BUCKET is set. */
  storage: StorageConfig;
  /** Local copies of remote storage keys for code that reads files (trainer images and models). */
  cacheDir: string;
  /** Reject images over this many pixels (decompression-bomb guard). */
  maxImagePixels: number;
};

const envSchema = z.object({
  DATABASE_URL: z.string().url().optional().or(z.literal("").transform(() => undefined)),
  HEMALOOP_DATA_DIR: z.string().optional(),
  HEMALOOP_STORAGE_DIR: z.string().optional(),
  HEMALOOP_MAX_IMAGE_PIXELS: z.coerce.number().int().positive().optional(),
  HEMALOOP_CACHE_DIR: z.string().optional(),
  HEMALOOP_S3_BUCKET: z.string().optional(),
  HEMALOOP_S3_ENDPOINT: z.string().url().optional(),
  HEMALOOP_S3_REGION: z.string().optional(),
  HEMALOOP_S3_PREFIX: z
    .string()
    .regex(/^((?!\.\.?\/)[A-Za-z0-9._-]+\/)*$/, "a key prefix ending in / (e.g. hemaloop/), or empty")
    .optional(),
  HEMALOOP_S3_FORCE_PATH_STYLE: z.enum(["true", "false", "1", "0"]).optional(),
  AWS_ACCESS_KEY_ID: z.string().optional(),
  AWS_SECRET_ACCESS_KEY: z.string().optional(),
  AWS_SESSION_TOKEN: z.string().optional(),
  AWS_REGION: z.string().optional(),
});

type ParsedEnv = z.infer<typeof envSchema>;

/** Compose files pass unset storage variables as "" (`${AWS_ACCESS_KEY_ID:-}`): treat those as unset. */
function withoutBlankStorageVars(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === "" && /^(HEMALOOP_S3_|AWS_)/.test(k) ? undefined : v]));
}

export function resolveRuntimeConfig(env: Record<string, string | undefined>, repoRoot: string): RuntimeConfig {
  const parsed = envSchema.parse(withoutBlankStorageVars(env));
  const dataDir = path.resolve(repoRoot, parsed.HEMALOOP_DATA_DIR ?? ".data");
  const storageDir = path.resolve(repoRoot, parsed.HEMALOOP_STORAGE_DIR ?? path.join(dataDir, "storage"));
  return {
    databaseUrl: parsed.DATABASE_URL,
    dataDir,
    pgliteDir: path.join(dataDir, "pglite"),
    storageDir,
    storage: resolveStorageConfig(parsed, storageDir),
    cacheDir: path.resolve(repoRoot, parsed.HEMALOOP_CACHE_DIR ?? path.join(dataDir, "cache")),
    maxImagePixels: parsed.HEMALOOP_MAX_IMAGE_PIXELS ?? 50_000_000,
  };
}

/** S3 when HEMALOOP_S3_BUCKET is set, else the local directory. */
function resolveStorageConfig(env: ParsedEnv, storageDir: string): StorageConfig {
  if (!env.HEMALOOP_S3_BUCKET) {
    const stray = (["HEMALOOP_S3_ENDPOINT", "HEMALOOP_S3_PREFIX", "HEMALOOP_S3_FORCE_PATH_STYLE"] as const).filter((k) => env[k] !== undefined);
    if (stray.length > 0) throw new Error(`${stray.join(", ")} set without HEMALOOP_S3_BUCKET`);
    return { kind: "local", dir: storageDir };
  }
  if (Boolean(env.AWS_ACCESS_KEY_ID) !== Boolean(env.AWS_SECRET_ACCESS_KEY)) {
    throw new Error("set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither (to use the SDK's default credentials)");
  }
  return {
    kind: "s3",
    bucket: env.HEMALOOP_S3_BUCKET,
    prefix: env.HEMALOOP_S3_PREFIX ?? "",
    region: env.HEMALOOP_S3_REGION ?? env.AWS_REGION ?? "us-east-1",
    ...(env.HEMALOOP_S3_ENDPOINT ? { endpoint: env.HEMALOOP_S3_ENDPOINT } : {}),
    // Self-hosted stores (MinIO and most others) need path-style URLs; AWS itself prefers virtual hosts.
    forcePathStyle: env.HEMALOOP_S3_FORCE_PATH_STYLE ? ["true", "1"].includes(env.HEMALOOP_S3_FORCE_PATH_STYLE) : Boolean(env.HEMALOOP_S3_ENDPOINT),
    ...(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? {
          credentials: {
            accessKeyId: env.AWS_ACCESS_KEY_ID,
            secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
            ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
          },
        }
      : {}),
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
