import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import type { DecodedImage } from "./decode-image";

export const THUMBNAIL_MAX_PX = 256;
/** 254 + 1 px overlap on each side = 256 px tiles, the usual Deep Zoom choice. */
const TILE_SIZE = 254;

function fromRaw(image: DecodedImage) {
  return sharp(image.raw, { raw: { width: image.width, height: image.height, channels: image.channels } });
}

export async function createThumbnail(image: DecodedImage): Promise<Buffer> {
  return (
    fromRaw(image)
      .resize(THUMBNAIL_MAX_PX, THUMBNAIL_MAX_PX, { fit: "inside", withoutEnlargement: true })
      // effort 2 is ~30% faster than the default with thumbnails barely larger.
      .webp({ quality: 80, effort: 2 })
      .toBuffer()
  );
}

/**
 * Writes a Deep Zoom pyramid (<name>.dzi + <name>_files/, JPEG tiles) into a fresh scratch folder and
 * hands it to `use`; the scratch folder is always removed afterwards.
 */
export async function withDeepZoom<T>(
  image: DecodedImage,
  name: string,
  use: (files: { dzi: string; tilesDir: string }) => Promise<T>,
): Promise<T> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), "hemaloop-dz-"));
  try {
    let pipeline = fromRaw(image);
    if (image.channels === 4) pipeline = pipeline.flatten({ background: "#ffffff" });
    await pipeline
      .jpeg({ quality: 85 })
      .tile({ size: TILE_SIZE, overlap: 1, layout: "dz" })
      .toFile(path.join(scratch, `${name}.dz`));
    const tilesDir = path.join(scratch, `${name}_files`);
    // libvips metadata dump: not part of the Deep Zoom format.
    await rm(path.join(tilesDir, "vips-properties.xml"), { force: true });
    return await use({ dzi: path.join(scratch, `${name}.dzi`), tilesDir });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
