// A second, separate HemaLoop for acceptance.spec.ts: `npm start` as a lab runs it (no demo mode, no seed)
// on a fresh temporary data dir, so the spec starts from an empty database whatever other specs left in
// the shared e2e server. Same launcher (scripts/start-stack.ts) and the same production build.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const tsx = path.join(root, "node_modules", ".bin", "tsx");

export type EmptyStack = {
  baseURL: string;
  dataDir: string;
  /** What the launcher printed so far (the first-run instructions among it). */
  output: () => string;
  /** Runs one of the product's CLIs (`npm run admin` / `npm run import`) against this instance. */
  cli: (script: "admin" | "import", args: string[]) => Promise<string>;
  stop: () => Promise<void>;
};

function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function collect(child: ChildProcess): { text: () => string } {
  let text = "";
  child.stdout?.on("data", (d: Buffer) => (text += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (text += d.toString()));
  return { text: () => text };
}

const cliEntry = { admin: "packages/db/src/cli/admin-cli.ts", import: "packages/db/src/cli/import-cli.ts" } as const;

/** Starts the stack and resolves once it prints that it is running (the web app answers /sign-in). */
export async function startEmptyStack(timeoutMs = 180_000): Promise<EmptyStack> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "hemaloop-acceptance-"));
  const port = await findFreePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HEMALOOP_DATA_DIR: dataDir,
    HEMALOOP_STORAGE_DIR: path.join(dataDir, "storage"),
    AUTH_SECRET: randomBytes(32).toString("hex"),
    AUTH_TRUST_HOST: "true",
    NEXT_TELEMETRY_DISABLED: "1",
    NODE_ENV: "production",
    PORT: String(port),
    HEMALOOP_HOST: "127.0.0.1",
    HEMALOOP_DB_PORT: String(await findFreePort()),
    // Imports only: nothing in the acceptance path trains.
    TRAINER_JOB_TYPES: "import",
    TRAINER_POLL_MS: "500",
  };
  for (const name of [
    "DATABASE_URL",
    "HEMALOOP_DEMO",
    "HEMALOOP_NO_TRAINER",
    "HEMALOOP_OIDC_ISSUER",
    "HEMALOOP_ADMIN_PASSWORD",
    "HEMALOOP_USER_PASSWORD",
  ])
    delete env[name];
  // Own process group: stop() reaches the web app, the trainer and the database server it starts.
  const stack = spawn(tsx, [path.join(root, "scripts", "start-stack.ts")], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const out = collect(stack);
  const exited = new Promise<number | null>((resolve) => stack.once("exit", (code) => resolve(code)));

  const stop = async () => {
    if (stack.exitCode === null && stack.pid !== undefined) {
      process.kill(-stack.pid, "SIGTERM");
      const killed = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 15_000))]);
      if (!killed) process.kill(-stack.pid, "SIGKILL");
    }
    rmSync(dataDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + timeoutMs;
  while (!/HemaLoop is running at/.test(out.text())) {
    if (stack.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`the empty stack did not start (exit ${stack.exitCode}):\n${out.text().slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }

  const cli = (script: "admin" | "import", args: string[]) =>
    new Promise<string>((resolve, reject) => {
      const child = spawn(tsx, [path.join(root, cliEntry[script]), ...args], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
      const text = collect(child);
      child.once("exit", (code) =>
        code === 0 ? resolve(text.text()) : reject(new Error(`${script} ${args.join(" ")} exited ${code}:\n${text.text()}`)),
      );
    });

  return { baseURL: `http://localhost:${port}`, dataDir, output: out.text, cli, stop };
}
