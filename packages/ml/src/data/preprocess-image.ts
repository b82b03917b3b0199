/**
 * Decoding one cell image with sharp: crop (around the cell on a field, else the centre square),
 * resize to the model's input size, return packed RGB bytes `[S, S, 3]` (row-major, HWC).
 */
import sharp from "sharp";
import type { CellBox } from "./labeled-items";

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
}

/** A crop rectangle in source pixels. */
export interface CropRect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * The square to cut from a `width x height` image: around the box (plus margin), or the centre
 * square. The square is shifted to stay inside the image and shrunk only if the image is smaller.
 */
export function computeCropRect(
  width: number,
  height: number,
  box: CellBox | undefined,
  margin: number,
): CropRect {
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

/**
 * Decodes, crops and resizes one image. Returns `S*S*3` bytes (sRGB, alpha dropped, EXIF
 * orientation applied).
 */
export async function preprocessImage(
  file: string | Buffer,
  cell: { box?: CellBox; point?: { x: number; y: number } },
  options: CropOptions,
): Promise<Uint8Array> {
  const size = options.inputSize;
  if (!cell.box && !cell.point) return decodeCentreSquare(file, size);
  const image = sharp(file, { failOn: "error" }).rotate();
  const meta = await image.metadata();
  // Orientations 5-8 swap width and height after auto-rotation.
  const swap = (meta.orientation ?? 1) >= 5;
  const width = (swap ? meta.height : meta.width) ?? 0;
  const height = (swap ? meta.width : meta.height) ?? 0;
  if (width <= 0 || height <= 0) throw new Error(`Cannot read image size of ${String(file)}`);
  const box = cell.box ?? (cell.point ? boxAroundPoint(cell.point, options.pointBoxSize ?? 96) : undefined);
  const rect = computeCropRect(width, height, box, options.margin ?? 0.15);
  const { data, info } = await image
    .extract(rect)
    .resize(size, size, { fit: "fill", kernel: "lanczos3" })
    .removeAlpha()
    .toColourspace("srgb")
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || data.length !== size * size * 3) {
    throw new Error(`Unexpected decode result for ${String(file)}: ${info.width}x${info.height}x${info.channels}`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Whole-image crops: `fit: "cover"` is the centre-square crop and the resize in one libvips
 * pass, which lets JPEG shrink-on-load work and costs about half the CPU of metadata + extract +
 * resize (decode is the bottleneck of prediction).
 */
async function decodeCentreSquare(file: string | Buffer, size: number): Promise<Uint8Array> {
  const { data, info } = await sharp(file, { failOn: "error" })
    .rotate()
    .resize(size, size, { fit: "cover", position: "centre", kernel: "lanczos3" })
    .removeAlpha()
    .toColourspace("srgb")
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || data.length !== size * size * 3) {
    throw new Error(`Unexpected decode result for ${String(file)}: ${info.width}x${info.height}x${info.channels}`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
