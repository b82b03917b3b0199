/** Pieces shared by the ml CLI commands: option parsing helpers, logging, output writing. */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { z } from "zod";

/** Environment the CLI entry read once and passes down. */
export interface CliEnv {
  /** HEMALOOP_ML_BACKEND: auto | tensorflow | wasm | cpu. */
  backend?: string;
  /** HEMALOOP_ML_CACHE_DIR: where decoded image sets are cached between runs. */
  cacheDir?: string;
}

/** Writes to stderr so stdout stays machine-readable (the final JSON summary). */
export function logLine(message: string): void {
  process.stderr.write(`${message}\n`);
}

export function parseNumberOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number (got '${value}')`);
  return n;
}

export function parseIntOption(value: string | undefined, name: string, fallback: number, min = 0): number {
  const n = parseNumberOption(value, name, fallback);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min} (got '${value}')`);
  return n;
}

/**
 * Parses an option with a job contract schema (@hemaloop/ml/contracts), so the CLI accepts exactly
 * what the trainer does. Numeric schemas get the value as a number.
 */
export function parseContractOption<T>(value: string | undefined, name: string, schema: z.ZodType<T>, fallback: T, numeric = false): T {
  if (value === undefined) return fallback;
  const parsed = schema.safeParse(numeric ? Number(value) : value);
  if (!parsed.success) throw new Error(`--${name}: ${parsed.error.issues[0]?.message ?? "invalid"} (got '${value}')`);
  return parsed.data;
}

export function requireOption(value: string | undefined, name: string, usage: string): string {
  if (value === undefined || value === "") throw new Error(`--${name} is required\n${usage}`);
  return value;
}

export async function writeJsonFile(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFile(file, `${JSON.stringify(value, null, 2)}\n`);
}

/** Prints decode progress at most every 10%. */
export function createDecodeProgress(label: string): (done: number, total: number) => void {
  let lastDecile = -1;
  const t0 = performance.now();
  return (done, total) => {
    const decile = Math.floor((done / total) * 10);
    if (decile !== lastDecile || done === total) {
      lastDecile = decile;
      const secs = (performance.now() - t0) / 1000;
      logLine(`[data] ${label}: ${done}/${total} images (${secs.toFixed(0)}s)`);
    }
  };
}

/**
 * An AbortSignal that fires on SIGINT/SIGTERM, so Ctrl-C stops training cleanly after the current
 * batch (a second signal exits at once). Call `release()` when the command ends.
 */
export function createSignalAbort(): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(130);
    logLine(`[ml] ${sig} received, stopping after the current batch (again to force)`);
    controller.abort(new Error(`Interrupted by ${sig}`));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    release: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

/** Runs a command with `createSignalAbort`'s signal, releasing the handlers however it ends. */
export async function runWithSignalAbort(command: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const abort = createSignalAbort();
  try {
    await command(abort.signal);
  } finally {
    abort.release();
  }
}

/** A compact per-class summary line of a report: "key recall" pairs. */
export function formatRecalls(perClass: Record<string, { recall: number | null }>): string {
  return Object.entries(perClass)
    .map(([k, m]) => `${k}=${m.recall === null ? "n/a" : m.recall.toFixed(3)}`)
    .join(" ");
}
