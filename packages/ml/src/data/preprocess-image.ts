/**
 * Decoding one cell image: crop (around the cell on a field, else the centre square), resize to
 * the model's input size, return packed RGB bytes `[S, S, 3]` (row-major, HWC).
 *
 * JPEGs go through the libjpeg-turbo addon when it is built, decoding at the smallest DCT scale
 * (1/2, 1/4, 1/8) that still leaves at least S pixels across the crop, which is most of the speed
 * of prediction. Everything else, JPEGs with an EXIF rotation, and JPEGs the addon refuses
 * (CMYK, recoverable corruption that libvips tolerates) are decoded in full by sharp. Both feed
 * the same crop-and-resample code (resample.ts; the addon's batch entry point replicates it in C,
 * byte for byte), so the two paths differ only by DCT-domain versus spatial downscaling.
 */
import { readFile as readFileCallback } from "node:fs";
import { promisify } from "node:util";
import sharp from "sharp";
import { computeCellCentredCrop, type CellCentreOptions } from "./cell-locator";
import { applyColourNormalisation, type ColourNormalisation } from "./colour-normalisation";
import type { CellBox } from "./labeled-items";
import { loadJpegAddon } from "./native-jpeg";
import { resampleRect, type RgbImage } from "./resample";

/** How an image becomes a square model input. */
export interface CropOptions {
  /** Output side in pixels. */
  inputSize: number;
  /**
   * Context kept around a cell box, as a fraction of the box's longer side on each side.
   * Default 0.15 (background beyond that is noise for classification).
   */
  margin?: number;
  /** Box side (pixels) used around a point annotation. Default 96. */
  pointBoxSize?: number;
  /**
   * Cell-centred crop: find the white cell's nucleus (in the box plus context, or the whole image)
   * and frame it so the cell fills a fixed fraction of the input, whatever the source framing and
   * resolution; the plain box / centre crop when no nucleus stands out. Off when undefined.
   */
  cellCentre?: CellCentreOptions;
  /** Colour normalisation of each crop (colour-normalisation.ts). Default "none". */
  colour?: ColourNormalisation;
  /** "auto" (default): the native JPEG addon when built; "sharp": always sharp (tests, comparisons). */
  decoder?: "auto" | "sharp";
}

/** A crop rectangle in source pixels. */
export interface CropRect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Same bound as sharp's default `limitInputPixels`: larger images are refused, not decoded. */
export const MAX_INPUT_PIXELS = 0x3fff * 0x3fff;

/**
 * The square to cut from a `width x height` image: around the box (plus margin), or the centre
 * square. The square is shifted to stay inside the image and shrunk only if the image is smaller.
 */
export function computeCropRect(width: number, height: number, box: CellBox | undefined, margin: number): CropRect {
  if (!box) {
    const side = Math.min(width, height);
    return { left: Math.floor((width - side) / 2), top: Math.floor((height - side) / 2), width: side, height: side };
  }
  const longSide = Math.max(box.width, box.height);
  const side = Math.max(1, Math.min(Math.round(longSide * (1 + 2 * margin)), width, height));
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const left = Math.round(Math.min(Math.max(cx - side / 2, 0), width - side));
  const top = Math.round(Math.min(Math.max(cy - side / 2, 0), height - side));
  return { left, top, width: side, height: side };
}

/** Box around a point annotation. */
export function boxAroundPoint(point: { x: number; y: number }, size: number): CellBox {
  return { x: point.x - size / 2, y: point.y - size / 2, width: size, height: size };
}

/** The defaults of {@link CropOptions}, shared by decoding and the decoded-set cache key. */
export const DEFAULT_CROP_MARGIN = 0.15;
export const DEFAULT_POINT_BOX_SIZE = 96;

/** The box to crop around: the cell's own box, else one around its point, else none (whole image). */
function resolveCellBox(cell: { box?: CellBox; point?: { x: number; y: number } }, options: CropOptions): CellBox | undefined {
  if (cell.box) return cell.box;
  return cell.point ? boxAroundPoint(cell.point, options.pointBoxSize ?? DEFAULT_POINT_BOX_SIZE) : undefined;
}

/** Largest JPEG DCT scale denominator (1, 2, 4, 8) that keeps at least `outSize` pixels across `cropSide`. */
export function chooseScaleDenom(cropSide: number, outSize: number): 1 | 2 | 4 | 8 {
  for (const denom of [8, 4, 2] as const) if (cropSide / denom >= outSize) return denom;
  return 1;
}

// fs.readFile with a callback costs about a third less CPU than fs/promises' FileHandle-based
// readFile for small files, which shows at thousands of cells per second.
const readFile = promisify(readFileCallback);

const isJpeg = (buf: Buffer): boolean => buf.length > 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff;

/** Full decode by sharp: EXIF orientation applied, alpha dropped, sRGB. */
async function decodeWithSharp(buf: Buffer): Promise<RgbImage> {
  const { data, info } = await sharp(buf, { failOn: "error", limitInputPixels: MAX_INPUT_PIXELS })
    .rotate()
    .removeAlpha()
    .toColourspace("srgb")
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`Unexpected decode result: ${info.width}x${info.height}x${info.channels}`);
  return { data, width: info.width, height: info.height };
}

/**
 * Decodes, crops and resizes one image. Returns `S*S*3` bytes (sRGB, alpha dropped, EXIF
 * orientation applied). Cell boxes and points are in the upright image's pixels.
 */
export async function preprocessImage(
  file: string | Buffer,
  cell: { box?: CellBox; point?: { x: number; y: number } },
  options: CropOptions,
): Promise<Uint8Array> {
  const size = options.inputSize;
  const buf = typeof file === "string" ? await readFile(file) : file;
  const box = resolveCellBox(cell, options);
  const margin = options.margin ?? DEFAULT_CROP_MARGIN;
  const addon = options.decoder === "sharp" ? null : loadJpegAddon();
  let out: Uint8Array | undefined;
  if (addon && isJpeg(buf)) out = await decodeScaledJpeg(addon, buf, box, margin, size, options.cellCentre);
  if (!out) {
    const image = await decodeWithSharp(buf);
    out = resampleRect(image, chooseCrop(image, image, box, margin, options.cellCentre), size, size);
  }
  applyColourNormalisation(out, options.colour);
  return out;
}

/** Context searched for the nucleus around a box: at least half its size on each side. */
const CELL_SEARCH_MARGIN = 0.5;

/**
 * The crop of `image` (possibly DCT-scaled by `denom`; box in full-size pixels): cell-centred when
 * asked and a nucleus is found, else the box / centre square.
 */
function chooseCrop(
  image: RgbImage,
  full: { width: number; height: number },
  box: CellBox | undefined,
  margin: number,
  cellCentre: CellCentreOptions | undefined,
  denom = 1,
): CropRect {
  const scaled = (r: CropRect): CropRect => ({
    left: r.left / denom,
    top: r.top / denom,
    width: r.width / denom,
    height: r.height / denom,
  });
  const { width: fullW, height: fullH } = full;
  const plain = scaled(computeCropRect(fullW, fullH, box, margin));
  if (!cellCentre) return plain;
  const search = box
    ? computeCropRect(fullW, fullH, box, Math.max(margin, CELL_SEARCH_MARGIN))
    : { left: 0, top: 0, width: fullW, height: fullH };
  return computeCellCentredCrop(image, scaled(search), plain, cellCentre);
}

/**
 * Preprocesses `items` into `out` (item i at `i * S*S*3`): JPEGs in native batches on one pool
 * thread per call, then whatever the addon handed back, one by one through preprocessImage (which
 * also produces the proper error for a bad file). Same bytes as calling preprocessImage per item.
 */
export async function preprocessFilesInto(
  items: readonly { file: string; box?: CellBox; point?: { x: number; y: number } }[],
  options: CropOptions,
  out: Uint8Array,
): Promise<void> {
  const size = options.inputSize;
  const per = size * size * 3;
  if (out.length !== items.length * per) throw new Error(`preprocessFilesInto: out holds ${out.length} bytes, need ${items.length * per}`);
  // The native batch path crops where it is told; cell-centred crops decide after decoding.
  const addon = options.decoder === "sharp" || options.cellCentre ? null : loadJpegAddon();
  const status = new Int32Array(items.length).fill(1);
  if (addon && items.length > 0) {
    const boxes = new Float64Array(items.length * 4).fill(Number.NaN);
    items.forEach((item, i) => {
      const box = resolveCellBox(item, options);
      if (box) boxes.set([box.x, box.y, box.width, box.height], i * 4);
    });
    const paths = items.map((item) => item.file);
    await addon.preprocessFiles(paths, boxes, size, options.margin ?? DEFAULT_CROP_MARGIN, MAX_INPUT_PIXELS, out, status);
  }
  for (let i = 0; i < items.length; i++) {
    if (status[i] === 0) {
      applyColourNormalisation(out.subarray(i * per, (i + 1) * per), options.colour);
      continue;
    }
    const item = items[i]!;
    try {
      out.set(await preprocessImage(item.file, item, options), i * per);
    } catch (err) {
      throw new Error(`Failed to decode ${item.file}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/** The native path; undefined when the image needs sharp (rotation, or a decode the addon refuses). */
async function decodeScaledJpeg(
  addon: NonNullable<ReturnType<typeof loadJpegAddon>>,
  buf: Buffer,
  box: CellBox | undefined,
  margin: number,
  size: number,
  cellCentre: CellCentreOptions | undefined,
): Promise<Uint8Array | undefined> {
  let header;
  try {
    header = addon.readHeader(buf);
  } catch {
    return undefined;
  }
  if (header.orientation !== 1) return undefined;
  if (header.width * header.height > MAX_INPUT_PIXELS) {
    throw new Error(`Input image exceeds pixel limit (${header.width}x${header.height})`);
  }
  const rect = computeCropRect(header.width, header.height, box, margin);
  // A cell-centred crop is not known before decoding; it is rarely under half the plain one.
  const denom = chooseScaleDenom(cellCentre ? rect.width / 2 : rect.width, size);
  let decoded;
  try {
    decoded = await addon.decode(buf, denom, MAX_INPUT_PIXELS);
  } catch {
    return undefined;
  }
  // libjpeg scales by exactly 1/denom (the last row and column padded up to ceil(side / denom)).
  const image = {
    data: new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.byteLength),
    width: decoded.width,
    height: decoded.height,
  };
  if (!cellCentre) {
    const scaledRect = { left: rect.left / denom, top: rect.top / denom, width: rect.width / denom, height: rect.height / denom };
    return resampleRect(image, scaledRect, size, size);
  }
  const full = { width: header.width, height: header.height };
  return resampleRect(image, chooseCrop(image, full, box, margin, cellCentre, denom), size, size);
}
