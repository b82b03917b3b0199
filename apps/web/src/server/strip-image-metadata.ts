/**
 * Removes metadata (EXIF, XMP, IPTC/Photoshop, comments, text chunks) from original image bytes before
 * they leave the server: camera serials, GPS, dates and free-text fields can identify a patient or a site.
 * Pixel data is copied untouched (no re-encoding: the web app has no image codec and must not load sharp).
 */

export type StripResult = { ok: true; bytes: Buffer } | { ok: false; reason: string };

/** Formats served stripped; everything else that could carry metadata is refused by the caller. */
export function stripImageMetadata(bytes: Buffer): StripResult {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return stripJpeg(bytes);
  if (bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return stripPng(bytes);
  if (bytes.length >= 12 && bytes.toString("latin1", 0, 4) === "RIFF" && bytes.toString("latin1", 8, 12) === "WEBP")
    return stripWebp(bytes);
  if (bytes.length >= 2 && bytes.toString("latin1", 0, 2) === "BM") return { ok: true, bytes }; // BMP has no metadata blocks
  return { ok: false, reason: "unsupported format" };
}

// APPn segments worth keeping: JFIF (APP0, density), ICC profile (APP2, colours), Adobe (APP14, tells
// decoders whether the data is RGB or YCbCr/CMYK). Everything else in APPn/COM is metadata.
function keepJpegSegment(marker: number, payload: Buffer): boolean {
  const tag = (s: string) => payload.toString("latin1", 0, s.length) === s;
  if (marker === 0xe0) return tag("JFIF\0");
  if (marker === 0xe2) return tag("ICC_PROFILE\0");
  if (marker === 0xee) return tag("Adobe");
  return !(marker >= 0xe1 && marker <= 0xef) && marker !== 0xfe;
}

function stripJpeg(bytes: Buffer): StripResult {
  const out: Buffer[] = [bytes.subarray(0, 2)];
  let i = 2;
  while (i < bytes.length) {
    if (bytes[i] !== 0xff) return { ok: false, reason: "corrupt JPEG (expected a marker)" };
    let j = i + 1;
    while (j < bytes.length && bytes[j] === 0xff) j++; // fill bytes
    if (j >= bytes.length) return { ok: false, reason: "corrupt JPEG (truncated)" };
    const marker = bytes[j]!;
    // Start of scan: entropy-coded data and everything after it is copied as is (metadata precedes it).
    if (marker === 0xda || marker === 0xd9) {
      out.push(bytes.subarray(i));
      return { ok: true, bytes: Buffer.concat(out) };
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      out.push(bytes.subarray(i, j + 1));
      i = j + 1;
      continue;
    }
    if (j + 2 >= bytes.length) return { ok: false, reason: "corrupt JPEG (truncated)" };
    const length = bytes.readUInt16BE(j + 1);
    const end = j + 1 + length;
    if (length < 2 || end > bytes.length) return { ok: false, reason: "corrupt JPEG (bad segment length)" };
    if (keepJpegSegment(marker, bytes.subarray(j + 3, end))) out.push(bytes.subarray(i, end));
    i = end;
  }
  return { ok: false, reason: "corrupt JPEG (no image data)" };
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PNG_DROPPED = new Set(["tEXt", "zTXt", "iTXt", "eXIf", "tIME"]);

function stripPng(bytes: Buffer): StripResult {
  const out: Buffer[] = [PNG_SIGNATURE];
  let i = 8;
  while (i < bytes.length) {
    if (i + 12 > bytes.length) return { ok: false, reason: "corrupt PNG (truncated chunk)" };
    const length = bytes.readUInt32BE(i);
    const type = bytes.toString("latin1", i + 4, i + 8);
    const end = i + 12 + length;
    if (end > bytes.length) return { ok: false, reason: "corrupt PNG (bad chunk length)" };
    if (!PNG_DROPPED.has(type)) out.push(bytes.subarray(i, end));
    i = end;
    if (type === "IEND") return { ok: true, bytes: Buffer.concat(out) };
  }
  return { ok: false, reason: "corrupt PNG (no IEND)" };
}

const VP8X_EXIF = 0x08;
const VP8X_XMP = 0x04;

function stripWebp(bytes: Buffer): StripResult {
  const chunks: Buffer[] = [];
  let i = 12;
  while (i + 8 <= bytes.length) {
    const fourcc = bytes.toString("latin1", i, i + 4);
    const size = bytes.readUInt32LE(i + 4);
    const end = i + 8 + size + (size & 1);
    if (i + 8 + size > bytes.length) return { ok: false, reason: "corrupt WebP (bad chunk size)" };
    if (fourcc !== "EXIF" && fourcc !== "XMP ") {
      const chunk = Buffer.from(bytes.subarray(i, Math.min(end, bytes.length)));
      if (fourcc === "VP8X" && size >= 1) chunk[8] = chunk[8]! & ~(VP8X_EXIF | VP8X_XMP);
      chunks.push(chunk);
    }
    i = end;
  }
  const body = Buffer.concat(chunks);
  const header = Buffer.alloc(12);
  header.write("RIFF", 0, "latin1");
  header.writeUInt32LE(body.length + 4, 4);
  header.write("WEBP", 8, "latin1");
  return { ok: true, bytes: Buffer.concat([header, body]) };
}
