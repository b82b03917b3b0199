import type { DbConfig } from "@hemaloop/db/client";
import {
  authSecretFile,
  findEmbeddedServerUrl,
  readOrCreateSecretFile,
  resolveDbConfig,
  resolveRuntimeConfig,
  type RuntimeConfig,
} from "@hemaloop/db/runtime-config";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";

/**
 * The web app's environment, validated once per server process on first use (never at build time, so
 * `next build` needs no secrets or database). Everything else receives these values, not process.env.
 */
const webEnvSchema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    AUTH_SECRET: z.string().min(16, "AUTH_SECRET must be at least 16 characters").optional(),
    AUTH_TRUST_HOST: z
      .enum(["true", "false", "1", "0"])
      .optional()
      .transform((v) => v === "true" || v === "1"),
    HEMALOOP_DB_MAX_CONNECTIONS: z.coerce.number().int().positive().max(100).default(10),
    /** Largest browser upload (all files of one request together), in bytes. Default 2 GiB. */
    HEMALOOP_UPLOAD_MAX_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .default(2 * 1024 ** 3),
    /** Failed sign-ins per account / per client address within the window before tries are refused (HTTP 429). */
    HEMALOOP_SIGNIN_MAX_FAILURES: z.coerce.number().int().min(1).max(1000).default(10),
    HEMALOOP_SIGNIN_MAX_FAILURES_PER_IP: z.coerce.number().int().min(1).max(100_000).default(100),
    HEMALOOP_SIGNIN_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(900),
    /** How long a reader's claim on a queue cell lasts without activity before it goes back to the queue. */
    HEMALOOP_READER_LEASE_SECONDS: z.coerce.number().int().min(3).max(86_400).default(600),
    /** One OpenID Connect provider for single sign-on (all three or none), shown as "Continue with <name>". */
    HEMALOOP_OIDC_ISSUER: z.url({ protocol: /^https?$/ }).optional(),
    HEMALOOP_OIDC_CLIENT_ID: z.string().min(1).optional(),
    HEMALOOP_OIDC_CLIENT_SECRET: z.string().min(1).optional(),
    HEMALOOP_OIDC_NAME: z.string().min(1).max(60).default("single sign-on"),
    /** Where the monorepo lives; found from the working directory when unset. */
    HEMALOOP_REPO_ROOT: z.string().optional(),
  })
  .superRefine((env, ctx) => {
    const oidc = [env.HEMALOOP_OIDC_ISSUER, env.HEMALOOP_OIDC_CLIENT_ID, env.HEMALOOP_OIDC_CLIENT_SECRET];
    if (oidc.some(Boolean) && !oidc.every(Boolean)) {
      ctx.addIssue({
        code: "custom",
        path: ["HEMALOOP_OIDC_ISSUER"],
        message: "single sign-on needs HEMALOOP_OIDC_ISSUER, HEMALOOP_OIDC_CLIENT_ID and HEMALOOP_OIDC_CLIENT_SECRET together",
      });
    }
    if (env.NODE_ENV === "production" && !env.AUTH_SECRET) {
      ctx.addIssue({
        code: "custom",
        path: ["AUTH_SECRET"],
        message:
          "AUTH_SECRET is required in production (`next start`): `npm start` generates one in <data dir>/auth-secret; " +
          "elsewhere set it, e.g. AUTH_SECRET=$(openssl rand -base64 32)",
      });
    }
  });

export type WebEnv = {
  nodeEnv: "development" | "production" | "test";
  authSecret: string;
  trustHost: boolean;
  repoRoot: string;
  dbMaxConnections: number;
  uploadMaxBytes: number;
  signInLimits: { accountFailures: number; ipFailures: number; windowSeconds: number };
  /** A reader's claim on a work-queue cell lasts this long without a heartbeat or a decision. */
  readerLeaseMs: number;
  /** null = no single sign-on. */
  oidc: { issuer: string; clientId: string; clientSecret: string; name: string } | null;
  /** DATABASE_URL, HEMALOOP_DATA_DIR, HEMALOOP_STORAGE_DIR, ... (shared with the trainer and CLIs). */
  runtime: RuntimeConfig;
};

/** Walks up from `start` to the workspace root (the package.json named "hemaloop"). */
export function findRepoRoot(start: string): string {
  let dir = path.resolve(start);
  for (;;) {
    const pkg = path.join(dir, "package.json");
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "hemaloop") return dir;
      } catch {
        // unreadable package.json: keep walking
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(start);
    dir = parent;
  }
}

export function parseWebEnv(env: Record<string, string | undefined>, cwd = process.cwd()): WebEnv {
  const parsed = webEnvSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n");
    throw new Error(`Invalid environment for the web app:\n${issues}`);
  }
  const e = parsed.data;
  const repoRoot = e.HEMALOOP_REPO_ROOT ? path.resolve(e.HEMALOOP_REPO_ROOT) : findRepoRoot(cwd);
  const runtime = resolveRuntimeConfig(env, repoRoot);
  return {
    nodeEnv: e.NODE_ENV,
    authSecret: e.AUTH_SECRET ?? generatedAuthSecret(e.NODE_ENV, runtime.dataDir),
    trustHost: e.AUTH_TRUST_HOST || e.NODE_ENV !== "production",
    repoRoot,
    dbMaxConnections: e.HEMALOOP_DB_MAX_CONNECTIONS,
    uploadMaxBytes: e.HEMALOOP_UPLOAD_MAX_BYTES,
    signInLimits: {
      accountFailures: e.HEMALOOP_SIGNIN_MAX_FAILURES,
      ipFailures: e.HEMALOOP_SIGNIN_MAX_FAILURES_PER_IP,
      windowSeconds: e.HEMALOOP_SIGNIN_WINDOW_SECONDS,
    },
    readerLeaseMs: e.HEMALOOP_READER_LEASE_SECONDS * 1000,
    oidc:
      e.HEMALOOP_OIDC_ISSUER && e.HEMALOOP_OIDC_CLIENT_ID && e.HEMALOOP_OIDC_CLIENT_SECRET
        ? {
            issuer: e.HEMALOOP_OIDC_ISSUER,
            clientId: e.HEMALOOP_OIDC_CLIENT_ID,
            clientSecret: e.HEMALOOP_OIDC_CLIENT_SECRET,
            name: e.HEMALOOP_OIDC_NAME,
          }
        : null,
    runtime,
  };
}

/**
 * Never a constant: a known secret would let anyone forge session cookies. `next dev` keeps one per data
 * dir (the file npm start also uses, so sessions survive restarts); tests get a fresh one per process.
 */
function generatedAuthSecret(nodeEnv: WebEnv["nodeEnv"], dataDir: string): string {
  if (nodeEnv === "production") throw new Error("AUTH_SECRET is required in production"); // refined above
  if (nodeEnv === "test") return randomBytes(32).toString("hex");
  return readOrCreateSecretFile(authSecretFile(dataDir));
}

const store = globalThis as unknown as { __hemaloopWebEnv?: WebEnv };

/** The validated environment (parsed on first call, then cached for the process). */
export function getEnv(): WebEnv {
  store.__hemaloopWebEnv ??= parseWebEnv(process.env);
  return store.__hemaloopWebEnv;
}

/** Database settings: DATABASE_URL, else a running embedded server for the data dir, else PGlite. */
export function getDbConfig(): DbConfig {
  const env = getEnv();
  const db = resolveDbConfig(env.runtime);
  // The embedded server runs one PGlite session: more than one connection from this process buys no
  // parallelism and only multiplies interleaving on its shared wire-protocol queue.
  const embedded = db.url !== undefined && db.url === findEmbeddedServerUrl(env.runtime.dataDir);
  return { ...db, maxConnections: embedded ? 1 : env.dbMaxConnections };
}
