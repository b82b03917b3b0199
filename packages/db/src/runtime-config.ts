import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
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
  HEMALOOP_HOST: z.string().regex(/^[\w.:-]*$/, "HEMALOOP_HOST must be an address or host name").optional(),
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
