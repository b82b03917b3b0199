/**
 * Loader for the optional libjpeg-turbo addon (packages/ml/native). Missing or unloadable means
 * decoding falls back to sharp; the reason is kept for logs and benchmarks.
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

export interface JpegHeader {
  width: number;
  height: number;
  components: number;
  /** EXIF orientation 1-8 (1 when absent). */
  orientation: number;
}

export interface JpegAddon {
  /** Parses the header only; throws on data that is not a JPEG. */
  readHeader(buffer: Buffer): JpegHeader;
  /** Decodes to packed RGB at ceil(width / scaleDenom) x ceil(height / scaleDenom) on the libuv pool. */
  decode(buffer: Buffer, scaleDenom: 1 | 2 | 4 | 8, maxPixels: number): Promise<{ data: Buffer; width: number; height: number }>;
  /**
   * Reads, decodes, crops (`boxes`: 4 numbers per file, NaN for the centre square) and resamples
   * files into `out` on ONE pool thread; `status[i]` is 0 when done, 1 when file i needs another
   * decoder (not a JPEG, EXIF-rotated, over `maxPixels`, unreadable or refused by libjpeg).
   */
  preprocessFiles(
    paths: readonly string[],
    boxes: Float64Array,
    size: number,
    margin: number,
    maxPixels: number,
    out: Uint8Array,
    status: Int32Array,
  ): Promise<void>;
}

let addon: JpegAddon | null | undefined;
let loadError = "";

/** The addon, or null when it is not built here (see `describeJpegDecoder`). */
export function loadJpegAddon(): JpegAddon | null {
  if (addon !== undefined) return addon;
  const file = fileURLToPath(new URL("../../native/build/jpeg-scaled.node", import.meta.url));
  try {
    addon = createRequire(import.meta.url)(file) as JpegAddon;
  } catch (err) {
    addon = null;
    loadError = err instanceof Error ? err.message.split("\n")[0]! : String(err);
  }
  return addon;
}

/** One line for logs: which JPEG decoder is in use, and why not the fast one. */
export function describeJpegDecoder(): string {
  return loadJpegAddon()
    ? "libjpeg-turbo addon (DCT-scaled decode)"
    : `sharp (native addon unavailable: ${loadError}; run node packages/ml/native/build.mjs)`;
}
