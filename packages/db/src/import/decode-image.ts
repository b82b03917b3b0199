import sharp, { type Metadata } from "sharp";
import { FileRejectedError } from "./import-types";

/** Formats accepted for microscopy images; SVG, PDF, GIF and the like are refused on purpose. */
const FORMAT_EXTENSIONS: Record<string, string> = { jpeg: "jpg", png: "png", webp: "webp", tiff: "tif" };

export type DecodedImage = {
  format: string;
  extension: string;
  width: number;
  height: number;
  /** 8-bit sRGB pixels (3 channels, 4 with alpha): decoded once, reused for every derivative. */
  raw: Buffer;
  channels: 3 | 4;
  exifOrientation?: number;
};

const pixelCount = (n: number) => n.toLocaleString("en-US");

/**
 * Fully decodes the image. Reading only the header would accept truncated files (a JPEG cut in half
 * still has a valid header), so the pixels are decoded and libvips errors (failOn "error") reject.
 * The pixel limit is checked on the header first, before any large allocation.
 */
export async function decodeImage(bytes: Buffer, maxImagePixels: number): Promise<DecodedImage> {
  if (bytes.length === 0) throw new FileRejectedError("empty file");
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { failOn: "error", limitInputPixels: false }).metadata();
  } catch (error) {
    const message = errorMessage(error);
    if (/unsupported image format/i.test(message)) throw new FileRejectedError("not an image (unrecognised file format)");
    throw new FileRejectedError(`unreadable image header (${message})`);
  }
  const extension = meta.format ? FORMAT_EXTENSIONS[meta.format] : undefined;
  if (!extension) {
    throw new FileRejectedError(`unsupported image format "${meta.format ?? "unknown"}" (accepted: jpeg, png, webp, tiff)`);
  }
  if (!meta.width || !meta.height) throw new FileRejectedError("image has no dimensions");
  const pixels = meta.width * meta.height;
  if (pixels > maxImagePixels) {
    throw new FileRejectedError(
      `image is ${meta.width}x${meta.height} = ${pixelCount(pixels)} pixels, over the pixel limit of ${pixelCount(maxImagePixels)}`,
    );
  }

  const decode = () =>
    sharp(bytes, { failOn: "error", limitInputPixels: maxImagePixels }).toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
  let decoded: Awaited<ReturnType<typeof decode>>;
  try {
    decoded = await decode();
  } catch (error) {
    let message = errorMessage(error);
    // libvips keeps one error buffer per process: when several decodes fail at once one of them may
    // only get "Unknown error". Decoding a broken file again is cheap and usually names the problem.
    if (/unknown error/i.test(message))
      message = await decode().then(
        () => message,
        (again: unknown) => errorMessage(again),
      );
    throw new FileRejectedError(`corrupt or truncated image (${message})`);
  }
  const { data, info } = decoded;
  if (info.channels !== 3 && info.channels !== 4) throw new FileRejectedError(`unexpected channel count ${info.channels}`);
  return {
    format: meta.format,
    extension,
    width: info.width,
    height: info.height,
    raw: data,
    channels: info.channels,
    ...(meta.orientation && meta.orientation !== 1 ? { exifOrientation: meta.orientation } : {}),
  };
}

function errorMessage(error: unknown): string {
  return ((error as Error).message ?? String(error)).split("\n")[0]!.trim();
}
