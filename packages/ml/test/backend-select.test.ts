import * as tf from "@tensorflow/tfjs";
import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseBackendPreference, resolveWasmDir, selectBackend } from "../src/backend";

describe("selectBackend", () => {
  it("resolves the wasm binaries from the installed package (offline)", () => {
    const dir = resolveWasmDir();
    expect(existsSync(path.join(dir, "tfjs-backend-wasm-simd.wasm"))).toBe(true);
  });

  it("falls back to wasm when tfjs-node is absent and logs every decision", async () => {
    const lines: string[] = [];
    const choice = await selectBackend({ log: (l) => lines.push(l) });
    // tfjs-node(-gpu) cannot install on CI machines here; on a GPU host 'tensorflow' wins.
    expect(["tensorflow", "wasm"]).toContain(choice.name);
    expect(tf.getBackend()).toBe(choice.name);
    expect(lines.at(-1)).toContain(`using tfjs backend '${choice.name}'`);
    if (choice.name === "wasm") expect(choice.skipped.map((s) => s.source)).toContain("@tensorflow/tfjs-node");
  });

  it("honours an explicit choice", async () => {
    expect((await selectBackend({ preferred: "cpu" })).name).toBe("cpu");
    expect(tf.getBackend()).toBe("cpu");
    expect((await selectBackend({ preferred: "wasm" })).name).toBe("wasm");
  });

  it("throws a clear error when the explicitly chosen backend cannot start", async () => {
    let installed = true;
    try {
      const specifier = "@tensorflow/tfjs-node";
      await import(/* @vite-ignore */ specifier);
    } catch {
      installed = false;
    }
    if (installed) return;
    await expect(selectBackend({ preferred: "tensorflow" })).rejects.toThrow(/Requested TensorFlow.js backend 'tensorflow' failed/);
  });

  it("parses preferences and rejects typos", () => {
    expect(parseBackendPreference(undefined)).toBe("auto");
    expect(parseBackendPreference("WASM")).toBe("wasm");
    expect(parseBackendPreference("tfjs-node-gpu")).toBe("tensorflow");
    expect(() => parseBackendPreference("wsam")).toThrow(/Unknown backend/);
  });
});
