import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { findRepoRoot, parseWebEnv } from "../src/env";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

describe("web environment", () => {
  it("finds the workspace root from apps/web", () => {
    expect(findRepoRoot(path.join(repoRoot, "apps/web"))).toBe(repoRoot);
  });

  it("uses embedded defaults without DATABASE_URL", () => {
    const env = parseWebEnv({ NODE_ENV: "test" }, path.join(repoRoot, "apps/web"));
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
    expect(env.runtime).toMatchObject({
      databaseUrl: "postgres://u@localhost:5432/db",
      dataDir: "/tmp/hl-data",
      storageDir: "/tmp/hl-storage",
    });
    expect(env.trustHost).toBe(true);
  });

  it("requires AUTH_SECRET in production (next start outside npm start) and rejects bad values", () => {
    expect(() => parseWebEnv({ NODE_ENV: "production" }, repoRoot)).toThrow(
      /AUTH_SECRET is required in production .*npm start.*openssl rand/,
    );
    expect(() => parseWebEnv({ NODE_ENV: "development", AUTH_SECRET: "short" }, repoRoot)).toThrow(/AUTH_SECRET/);
    expect(() => parseWebEnv({ NODE_ENV: "development", HEMALOOP_DB_MAX_CONNECTIONS: "0" }, repoRoot)).toThrow();
  });

  it("reads the failed-sign-in limits, with defaults, and rejects bad ones by name", () => {
    expect(parseWebEnv({ NODE_ENV: "test" }, repoRoot).signInLimits).toEqual({ accountFailures: 10, ipFailures: 100, windowSeconds: 900 });
    expect(
      parseWebEnv(
        {
          NODE_ENV: "test",
          HEMALOOP_SIGNIN_MAX_FAILURES: "3",
          HEMALOOP_SIGNIN_MAX_FAILURES_PER_IP: "50",
          HEMALOOP_SIGNIN_WINDOW_SECONDS: "5",
        },
        repoRoot,
      ).signInLimits,
    ).toEqual({ accountFailures: 3, ipFailures: 50, windowSeconds: 5 });
    expect(() => parseWebEnv({ NODE_ENV: "test", HEMALOOP_SIGNIN_WINDOW_SECONDS: "0" }, repoRoot)).toThrow(
      /HEMALOOP_SIGNIN_WINDOW_SECONDS/,
    );
    expect(() => parseWebEnv({ NODE_ENV: "test", HEMALOOP_SIGNIN_MAX_FAILURES: "ten" }, repoRoot)).toThrow(/HEMALOOP_SIGNIN_MAX_FAILURES/);
  });

  it("reads the reader lease (10 minutes by default) and rejects a lease too short to heartbeat", () => {
    expect(parseWebEnv({ NODE_ENV: "test" }, repoRoot).readerLeaseMs).toBe(600_000);
    expect(parseWebEnv({ NODE_ENV: "test", HEMALOOP_READER_LEASE_SECONDS: "6" }, repoRoot).readerLeaseMs).toBe(6_000);
    for (const bad of ["0", "2", "1.5", "soon"]) {
      expect(() => parseWebEnv({ NODE_ENV: "test", HEMALOOP_READER_LEASE_SECONDS: bad }, repoRoot)).toThrow(
        /HEMALOOP_READER_LEASE_SECONDS/,
      );
    }
  });

  it("configures single sign-on only with issuer, client id and secret together", () => {
    expect(parseWebEnv({ NODE_ENV: "test" }, repoRoot).oidc).toBeNull();
    const full = {
      NODE_ENV: "test",
      HEMALOOP_OIDC_ISSUER: "https://idp.example.org/realms/h",
      HEMALOOP_OIDC_CLIENT_ID: "hemaloop",
      HEMALOOP_OIDC_CLIENT_SECRET: "s3cret",
    };
    expect(parseWebEnv({ ...full, HEMALOOP_OIDC_NAME: "St Elsewhere" }, repoRoot).oidc).toEqual({
      issuer: "https://idp.example.org/realms/h",
      clientId: "hemaloop",
      clientSecret: "s3cret",
      name: "St Elsewhere",
    });
    expect(() => parseWebEnv({ ...full, HEMALOOP_OIDC_CLIENT_SECRET: undefined }, repoRoot)).toThrow(
      /HEMALOOP_OIDC_CLIENT_SECRET together/,
    );
    expect(() => parseWebEnv({ ...full, HEMALOOP_OIDC_ISSUER: "ftp://idp.example.org" }, repoRoot)).toThrow(/HEMALOOP_OIDC_ISSUER/);
  });

  describe("generated auth secret (never a constant)", () => {
    const tmp = mkdtempSync(path.join(tmpdir(), "hemaloop-web-env-"));
    afterAll(() => rmSync(tmp, { recursive: true, force: true }));

    it("in development: generated once per data dir, kept owner-only, read back on the next start", () => {
      const dataDir = path.join(tmp, "dev-a");
      const first = parseWebEnv({ NODE_ENV: "development", HEMALOOP_DATA_DIR: dataDir }, repoRoot).authSecret;
      expect(first).toMatch(/^[0-9a-f]{64}$/);
      const file = path.join(dataDir, "auth-secret");
      expect(readFileSync(file, "utf8").trim()).toBe(first);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      expect(parseWebEnv({ NODE_ENV: "development", HEMALOOP_DATA_DIR: dataDir }, repoRoot).authSecret).toBe(first);
      const other = parseWebEnv({ NODE_ENV: "development", HEMALOOP_DATA_DIR: path.join(tmp, "dev-b") }, repoRoot).authSecret;
      expect(other).not.toBe(first);
    });

    it("tightens an existing world-readable data dir", () => {
      const dataDir = path.join(tmp, "dev-loose");
      parseWebEnv({ NODE_ENV: "development", HEMALOOP_DATA_DIR: dataDir }, repoRoot);
      chmodSync(dataDir, 0o755);
      parseWebEnv({ NODE_ENV: "development", HEMALOOP_DATA_DIR: dataDir }, repoRoot);
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    });

    it("an explicit AUTH_SECRET wins and writes nothing", () => {
      const dataDir = path.join(tmp, "explicit");
      const env = parseWebEnv({ NODE_ENV: "development", AUTH_SECRET: "s".repeat(40), HEMALOOP_DATA_DIR: dataDir }, repoRoot);
      expect(env.authSecret).toBe("s".repeat(40));
      expect(existsSync(path.join(dataDir, "auth-secret"))).toBe(false);
    });

    it("in tests: random per parse, nothing written to the data dir", () => {
      const dataDir = path.join(tmp, "test-mode");
      const a = parseWebEnv({ NODE_ENV: "test", HEMALOOP_DATA_DIR: dataDir }, repoRoot).authSecret;
      const b = parseWebEnv({ NODE_ENV: "test", HEMALOOP_DATA_DIR: dataDir }, repoRoot).authSecret;
      expect(a).toMatch(/^[0-9a-f]{64}$/);
      expect(a).not.toBe(b);
      expect(existsSync(dataDir)).toBe(false);
    });
  });
});
