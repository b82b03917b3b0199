import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { findRepoRoot, parseWebEnv } from "../src/env";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

describe("web environment", () => {
  it("finds the workspace root from apps/web", () => {
    expect(findRepoRoot(path.join(repoRoot, "apps/web"))).toBe(repoRoot);
  });

  it("uses embedded defaults without DATABASE_URL", () => {
    const env = parseWebEnv({ NODE_ENV: "development" }, path.join(repoRoot, "apps/web"));
    expect(env.runtime.databaseUrl).toBeUndefined();
    expect(env.runtime.dataDir).toBe(path.join(repoRoot, ".data"));
    expect(env.trustHost).toBe(true);
    expect(env.authSecret.length).toBeGreaterThanOrEqual(16);
  });

  it("reads the data and storage directories and the database URL", () => {
    const env = parseWebEnv(
      {
        NODE_ENV: "production",
        AUTH_SECRET: "x".repeat(32),
        AUTH_TRUST_HOST: "true",
        DATABASE_URL: "postgres://u@localhost:5432/db",
        HEMALOOP_DATA_DIR: "/tmp/hl-data",
        HEMALOOP_STORAGE_DIR: "/tmp/hl-storage",
      },
      repoRoot,
    );
    expect(env.runtime).toMatchObject({ databaseUrl: "postgres://u@localhost:5432/db", dataDir: "/tmp/hl-data", storageDir: "/tmp/hl-storage" });
    expect(env.trustHost).toBe(true);
  });

  it("requires AUTH_SECRET in production and rejects bad values", () => {
    expect(() => parseWebEnv({ NODE_ENV: "production" }, repoRoot)).toThrow(/AUTH_SECRET/);
    expect(() => parseWebEnv({ NODE_ENV: "development", AUTH_SECRET: "short" }, repoRoot)).toThrow(/AUTH_SECRET/);
    expect(() => parseWebEnv({ NODE_ENV: "development", HEMALOOP_DB_MAX_CONNECTIONS: "0" }, repoRoot)).toThrow();
  });
});
