/**
 * Runtime choice of the TensorFlow.js backend: native TensorFlow (GPU, then CPU) when the optional
 * tfjs-node packages installed, else wasm (XNNPACK, SIMD), else the pure-JS cpu backend.
 */
import { createRequire } from "node:module";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { registerWasmGradKernels } from "./wasm-grad-kernels";

/** 'tensorflow' = @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node; 'auto' tries all in order. */
export type BackendPreference = "tensorflow" | "wasm" | "cpu" | "auto";

/** What {@link selectBackend} ended up with. */
export interface BackendChoice {
  /** tf.getBackend() after selection: 'tensorflow' | 'wasm' | 'cpu'. */
  name: string;
  /** The package that provided it, for logs and model metadata. */
  source: "@tensorflow/tfjs-node-gpu" | "@tensorflow/tfjs-node" | "@tensorflow/tfjs-backend-wasm" | "@tensorflow/tfjs";
  /** Backends that were tried and failed, with the reason, in order. */
  skipped: { source: string; reason: string }[];
}

export interface SelectBackendOptions {
  /** Default 'auto'. An explicit choice that fails throws instead of falling back. */
  preferred?: BackendPreference;
  /** Receives one line per decision. Default: no logging. */
  log?: (message: string) => void;
}

const require = createRequire(import.meta.url);

/**
 * Directory holding the tfjs-backend-wasm .wasm binaries, resolved from the installed package so
 * that Node loads them from disk (no fetch, works offline). Ends with a path separator.
 */
export function resolveWasmDir(): string {
  const entry = require.resolve("@tensorflow/tfjs-backend-wasm");
  return path.dirname(entry) + path.sep;
}

function describe(err: unknown): string {
  return err instanceof Error ? (err.message.split("\n")[0] ?? err.message) : String(err);
}

/** Dynamic import of an optional package whose absence is normal (not listed in the type graph). */
async function importOptional(specifier: string): Promise<void> {
  // A non-literal specifier keeps tsc and bundlers from resolving packages that may not be installed.
  await import(/* @vite-ignore */ specifier);
}

async function trySetBackend(name: string): Promise<boolean> {
  const ok = await tf.setBackend(name);
  if (ok) await tf.ready();
  return ok && tf.getBackend() === name;
}

async function tryTensorflow(skipped: BackendChoice["skipped"]): Promise<BackendChoice | undefined> {
  for (const source of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"] as const) {
    try {
      await importOptional(source);
      if (await trySetBackend("tensorflow")) return { name: "tensorflow", source, skipped };
      skipped.push({ source, reason: "tf.setBackend('tensorflow') returned false" });
    } catch (err) {
      skipped.push({ source, reason: describe(err) });
    }
  }
  return undefined;
}

async function tryWasm(skipped: BackendChoice["skipped"]): Promise<BackendChoice | undefined> {
  const source = "@tensorflow/tfjs-backend-wasm" as const;
  try {
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    wasm.setWasmPaths(resolveWasmDir());
    registerWasmGradKernels();
    if (await trySetBackend("wasm")) return { name: "wasm", source, skipped };
    skipped.push({ source, reason: "tf.setBackend('wasm') returned false" });
  } catch (err) {
    skipped.push({ source, reason: describe(err) });
  }
  return undefined;
}

async function tryCpu(skipped: BackendChoice["skipped"]): Promise<BackendChoice | undefined> {
  if (await trySetBackend("cpu")) return { name: "cpu", source: "@tensorflow/tfjs", skipped };
  skipped.push({ source: "@tensorflow/tfjs", reason: "tf.setBackend('cpu') returned false" });
  return undefined;
}

/**
 * Selects and initialises a tfjs backend. With 'auto' (default) tries tfjs-node-gpu, tfjs-node,
 * wasm, cpu, in that order, and logs the choice. With an explicit preference it throws when that
 * backend cannot be initialised, so a misconfigured GPU host fails loudly instead of crawling on cpu.
 */
export async function selectBackend(options: SelectBackendOptions = {}): Promise<BackendChoice> {
  const preferred = options.preferred ?? "auto";
  const log = options.log ?? (() => undefined);
  const skipped: BackendChoice["skipped"] = [];
  const attempts: Record<Exclude<BackendPreference, "auto">, typeof tryCpu> = {
    tensorflow: tryTensorflow,
    wasm: tryWasm,
    cpu: tryCpu,
  };
  const order: Exclude<BackendPreference, "auto">[] = preferred === "auto" ? ["tensorflow", "wasm", "cpu"] : [preferred];

  for (const kind of order) {
    const choice = await attempts[kind](skipped);
    if (choice) {
      for (const s of skipped) log(`[ml] backend ${s.source} unavailable: ${s.reason}`);
      log(`[ml] using tfjs backend '${choice.name}' (${choice.source})`);
      return choice;
    }
  }
  const reasons = skipped.map((s) => `${s.source}: ${s.reason}`).join("; ");
  throw new Error(
    preferred === "auto"
      ? `No TensorFlow.js backend could be initialised (${reasons})`
      : `Requested TensorFlow.js backend '${preferred}' failed to initialise (${reasons})`,
  );
}

/** Parses a user/env string into a preference; unknown values throw so typos are not ignored. */
export function parseBackendPreference(value: string | undefined): BackendPreference {
  if (value === undefined || value === "") return "auto";
  const v = value.toLowerCase();
  if (v === "auto" || v === "wasm" || v === "cpu" || v === "tensorflow") return v;
  if (v === "node" || v === "tfjs-node" || v === "gpu" || v === "tfjs-node-gpu") return "tensorflow";
  throw new Error(`Unknown backend '${value}' (expected auto | tensorflow | wasm | cpu)`);
}
