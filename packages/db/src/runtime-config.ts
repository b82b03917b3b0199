import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
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
  DATABASE_URL: z
    .string()
    .url()
    .optional()
    .or(z.literal("").transform(() => undefined)),
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

/** What `npm start` / `npm run demo` (scripts/start-stack.ts) runs; see the README's config table. */
export type StartOptions = {
  /** Seed the demo project and its published logins; without it demo logins are disabled. */
  demo: boolean;
  /** Interface `next start` listens on: loopback unless HEMALOOP_HOST says otherwise. */
  host: string;
  port: number;
  dbPort: number;
  startTrainer: boolean;
};

const startEnvSchema = z.object({
  HEMALOOP_DEMO: z.enum(["", "0", "1", "false", "true"]).optional(),
  // HOSTNAME is deliberately not read: shells and containers export it as the machine's name, which
  // would silently move the server off loopback.
  HEMALOOP_HOST: z
    .string()
    .regex(/^[\w.:-]*$/, "HEMALOOP_HOST must be an address or host name")
    .optional(),
  PORT: z.coerce.number().int().min(1).max(65_535).optional(),
  HEMALOOP_DB_PORT: z.coerce.number().int().min(1).max(65_535).optional(),
  HEMALOOP_NO_TRAINER: z.enum(["", "0", "1"]).optional(),
});

/** Explicit demo mode: `--demo` on the command line or HEMALOOP_DEMO=1 (never the default). */
export function isDemoMode(argv: string[], env: Record<string, string | undefined>): boolean {
  return argv.includes("--demo") || env.HEMALOOP_DEMO === "1" || env.HEMALOOP_DEMO === "true";
}

export function resolveStartOptions(argv: string[], env: Record<string, string | undefined>): StartOptions {
  const unknown = argv.filter((arg) => arg !== "--demo");
  if (unknown.length > 0) throw new Error(`unknown argument ${unknown[0]} (npm start takes only --demo; npm run demo is the short form)`);
  const parsed = startEnvSchema.safeParse(env);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  const e = parsed.data;
  return {
    demo: isDemoMode(argv, env),
    host: e.HEMALOOP_HOST || "127.0.0.1",
    port: e.PORT ?? 3000,
    dbPort: e.HEMALOOP_DB_PORT ?? 54329,
    startTrainer: e.HEMALOOP_NO_TRAINER !== "1",
  };
}

/** Whether a listen address is reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

/**
 * Creates `dir` (and parents) and makes it owner-only: it holds the embedded database, its password and
 * the auth secret. An existing directory with group/other bits is tightened, not trusted as it is.
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if ((statSync(dir).mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

/**
 * A random secret kept in `file` (mode 0600, inside a private directory): read when present, else
 * generated once. Used for the auth secret and the embedded database password.
 */
export function readOrCreateSecretFile(file: string): string {
  ensurePrivateDir(path.dirname(file));
  if (existsSync(file)) {
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    const existing = readFileSync(file, "utf8").trim();
    if (existing.length >= 32) return existing;
  }
  // hex: safe as a URL password and in a shell without quoting
  const secret = randomBytes(32).toString("hex");
  writeFileSync(file, secret + "\n", { mode: 0o600 });
  chmodSync(file, 0o600);
  return secret;
}

/** The auth secret `npm start` and `next dev` generate for a data dir when AUTH_SECRET is unset. */
export function authSecretFile(dataDir: string): string {
  return path.join(dataDir, "auth-secret");
}

/** The password of the embedded database server for a data dir. */
export function embeddedPasswordFile(dataDir: string): string {
  return path.join(dataDir, "db-password");
}

/** S3 when HEMALOOP_S3_BUCKET is set, else the local directory. */
function resolveStorageConfig(env: ParsedEnv, storageDir: string): StorageConfig {
  if (!env.HEMALOOP_S3_BUCKET) {
    const stray = (["HEMALOOP_S3_ENDPOINT", "HEMALOOP_S3_PREFIX", "HEMALOOP_S3_FORCE_PATH_STYLE"] as const).filter(
      (k) => env[k] !== undefined,
    );
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
    forcePathStyle: env.HEMALOOP_S3_FORCE_PATH_STYLE
      ? ["true", "1"].includes(env.HEMALOOP_S3_FORCE_PATH_STYLE)
      : Boolean(env.HEMALOOP_S3_ENDPOINT),
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
