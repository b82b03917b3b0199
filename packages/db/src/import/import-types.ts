import type { DatasetProvenance } from "../queries/datasets";
import type { ZipLimits } from "./extract-zip";

export type ImportSource =
  /** A folder of `<class>/<image>` (class folders may hold subfolders). */
  | { kind: "dir"; dir: string }
  /** A CSV with `file,label` (+ optional `patient`, `smear`, `sublabel`); `file` relative to the CSV's folder. */
  | { kind: "manifest"; file: string }
  /** Pascal VOC: XML files (anywhere below dir, usually Annotations/) naming images (usually JPEGImages/). */
  | { kind: "voc"; dir: string }
  /** COCO JSON (images[], annotations[] with bbox, categories[]); images below imagesDir (default: the JSON's folder). */
  | { kind: "coco"; file: string; imagesDir?: string }
  /** A zip holding any of the layouts above, extracted into a temp folder below tempDir (default: the OS's). */
  | { kind: "zip"; file: string; limits?: Partial<ZipLimits>; tempDir?: string };

export type ImportProgress = {
  done: number;
  total: number;
  imported: number;
  duplicates: number;
  rejected: number;
  ratePerSec: number;
  /** null until the rate is known. */
  etaSeconds: number | null;
  currentFile: string;
};

export type ImportOptions = {
  source: ImportSource;
  institution: string;
  dataset: string;
  schemeKey: string;
  provenance?: DatasetProvenance;
  /** Images with more pixels are rejected before they are decoded (decompression bombs). */
  maxImagePixels: number;
  /** Files larger than this are rejected without reading them. Default 256 MiB. */
  maxFileBytes?: number;
  /** Default "crop" for dir/manifest, "field" for voc and coco. Fields also get a Deep Zoom pyramid. */
  kind?: "crop" | "field";
  /** Images processed at once. Default: CPU count, between 2 and 8. */
  concurrency?: number;
  onProgress?: (progress: ImportProgress) => void;
  /** Source label -> scheme class key, applied before the built-in matching (case-insensitive). */
  labelMap?: Record<string, string>;
  /** The user running the import (audit, cell.createdBy, label history actor). */
  actorId?: string | null;
  /** Stops scheduling new files; files in flight finish (or roll back) normally. */
  signal?: AbortSignal;
};

export type RejectedFile = { file: string; reason: string };

export type ImportResult = {
  institutionId: string;
  datasetId: string;
  total: number;
  imported: number;
  duplicates: number;
  /** Duplicates whose bytes were first imported under another file name (kept once). */
  sameContent: Array<{ file: string; sameAs: string }>;
  rejected: RejectedFile[];
  /** VOC boxes dropped (degenerate, unreadable); their image was still imported. */
  rejectedBoxes: RejectedFile[];
  /** Boxes partly outside their image, clipped to its bounds. */
  clippedBoxes: number;
  cells: number;
  labels: number;
  /** Cells whose source label is not in the scheme (kept for labelling later, sourceLabel set). */
  unlabeledCells: number;
  /** Non-fatal notes, e.g. a VOC <size> that disagrees with the decoded image. */
  warnings: string[];
  /** True when the signal stopped the run before every file was tried. */
  aborted: boolean;
  durationMs: number;
};

/** A cell to create on an image, in image pixels, before its label is resolved. */
export type CellSpec =
  | { geometry: "whole"; rawLabel: string | null; sourceLabel: string | null }
  | {
      geometry: "box";
      xmin: number;
      ymin: number;
      xmax: number;
      ymax: number;
      rawLabel: string | null;
      sourceLabel: string | null;
      /** e.g. `object 3` for reasons. */
      ref: string;
    };

/** One file to import, as listed by a source reader (paths are not yet checked). */
export type ImportEntry = {
  /** Path relative to the source root, as reported in results. */
  file: string;
  /** Prefix for reasons (`line 7`, `Annotations/x.xml`). */
  origin?: string;
  /** Folder the path must stay inside, and how reasons name it ("the manifest's folder"). */
  root: string;
  rootName: string;
  relativePath: string;
  cells: CellSpec[];
  /** Cells dropped while listing (e.g. a COCO annotation with an unknown category), reported as rejected boxes. */
  rejectedCells?: string[];
  /** Rejected while listing (malformed row...): nothing is read. */
  rejectReason?: string;
  /** What to do with a label not in the scheme: reject the file (crops) or keep the cell unlabeled (boxes). */
  unknownLabel: "reject" | "unlabeled";
  patient?: string | null;
  smear?: string | null;
  /** VOC <size>, compared with the decoded image. */
  declaredSize?: { width: number; height: number };
};

/** A problem with the whole import (bad manifest header, unknown scheme): nothing was written. */
export class ImportSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImportSetupError";
  }
}

/** A per-file rejection with a reason meant for people. */
export class FileRejectedError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "FileRejectedError";
  }
}
