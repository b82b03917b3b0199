import sharp from "sharp";
import type { CropImage } from "./write-manifest-csv";

/** The CLI's cropper for CSV exports of field boxes (lossless PNG). Not exported from the index: the web app must not load sharp. */
export const cropImageWithSharp: CropImage = (original, region) => sharp(original).extract(region).png().toBuffer();
