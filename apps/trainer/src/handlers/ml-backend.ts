import { selectBackend, type BackendPreference } from "@hemaloop/ml";

let selected: Promise<string> | undefined;

/** Picks the tfjs backend once per process (GPU, native, wasm, cpu) and logs the choice. */
export function ensureMlBackend(preferred: BackendPreference): Promise<string> {
  selected ??= selectBackend({ preferred, log: (line) => console.log(`[trainer] ${line}`) }).then((b) => b.name);
  return selected;
}
