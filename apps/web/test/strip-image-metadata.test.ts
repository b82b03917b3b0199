import { createLocalStorage } from "@hemaloop/db/storage";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveStoredFile } from "../src/server/files";
import { stripImageMetadata } from "../src/server/strip-image-metadata";

const SECRET = "Patient-4711 GPS 52.52N";
const exif = { IFD0: { ImageDescription: SECRET, Make: "SecretCam", Copyright: SECRET } };

async function rgb(width = 16, height = 12) {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 40, b: 90 } } });
}

async function pixels(bytes: Buffer) {
  return sharp(bytes).raw().toBuffer();
}

function expectNoMetadataText(bytes: Buffer) {
  const latin = bytes.toString("latin1");
  expect(latin).not.toContain("Patient-4711");
  expect(latin).not.toContain("SecretCam");
  expect(latin).not.toContain("Exif\0");
  expect(latin).not.toContain("http://ns.adobe.com/xap");
}

describe("stripImageMetadata", () => {
  it("JPEG: drops EXIF/XMP/comments, keeps JFIF/ICC and identical pixels", async () => {
    const original = await (
      await rgb()
    )
      .jpeg()
      .withExif(exif)
      .withXmp(
        `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://ns.adobe.com/xap/1.0/">${SECRET}</rdf:Description></rdf:RDF></x:xmpmeta>`,
      )
      .withIccProfile("srgb")
      .toBuffer();
    expect(original.toString("latin1")).toContain("Patient-4711");
    expect((await sharp(original).metadata()).exif).toBeDefined();
    const result = stripImageMetadata(original);
    if (!result.ok) throw new Error(result.reason);
    expectNoMetadataText(result.bytes);
    const meta = await sharp(result.bytes).metadata();
    expect(meta.exif).toBeUndefined();
    expect(meta.xmp).toBeUndefined();
    expect(meta.icc).toBeDefined();
    expect(await pixels(result.bytes)).toEqual(await pixels(original));
  });

  it("PNG: drops tEXt/iTXt/eXIf chunks, keeps the image", async () => {
    const original = await (await rgb()).png().withExif(exif).withMetadata().toBuffer();
    // A text chunk by hand (sharp writes EXIF as eXIf or as a text chunk depending on libvips).
    const text = Buffer.from(`Comment\0${SECRET}`, "latin1");
    const chunk = Buffer.alloc(12 + text.length);
    chunk.writeUInt32BE(text.length, 0);
    chunk.write("tEXt", 4, "latin1");
    text.copy(chunk, 8);
    const withText = Buffer.concat([original.subarray(0, 33), chunk, original.subarray(33)]);
    expect(withText.toString("latin1")).toContain("Patient-4711");
    const result = stripImageMetadata(withText);
    if (!result.ok) throw new Error(result.reason);
    expectNoMetadataText(result.bytes);
    expect((await sharp(result.bytes).metadata()).exif).toBeUndefined();
    expect(await pixels(result.bytes)).toEqual(await pixels(original));
  });

  it("WebP: drops EXIF/XMP chunks and clears their VP8X flags", async () => {
    const original = await (await rgb()).webp({ lossless: true }).withExif(exif).toBuffer();
    expect(original.toString("latin1")).toContain("Patient-4711");
    const result = stripImageMetadata(original);
    if (!result.ok) throw new Error(result.reason);
    expectNoMetadataText(result.bytes);
    expect((await sharp(result.bytes).metadata()).exif).toBeUndefined();
    expect(await pixels(result.bytes)).toEqual(await pixels(original));
  });

  it("refuses TIFF, unknown bytes and corrupt files", async () => {
    const tiff = await (await rgb()).tiff().withExif(exif).toBuffer();
    expect(stripImageMetadata(tiff)).toEqual({ ok: false, reason: "unsupported format" });
    expect(stripImageMetadata(Buffer.from("hello")).ok).toBe(false);
    const jpeg = await (await rgb()).jpeg().toBuffer();
    expect(stripImageMetadata(jpeg.subarray(0, 30)).ok).toBe(false);
  });
});

describe("serveStoredFile: originals leave without metadata", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "hemaloop-strip-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("serves a stripped JPEG original (whole, no ranges), refuses a TIFF original, leaves tiles alone", async () => {
    const storage = createLocalStorage(dir);
    const jpeg = await (await rgb()).jpeg().withExif(exif).toBuffer();
    await storage.put("images/ab/abc.jpg", jpeg);
    await storage.put("images/ab/abd.tif", await (await rgb()).tiff().toBuffer());
    await storage.put("dz/ab/abc_files/0/0_0.jpeg", jpeg);

    const res = await serveStoredFile(storage, "images/ab/abc.jpg", new Request("http://localhost/x", { headers: { range: "bytes=0-9" } }));
    expect(res.status).toBe(200);
    expect(res.headers.get("accept-ranges")).toBe("none");
    const body = Buffer.from(await res.arrayBuffer());
    expect(Number(res.headers.get("content-length"))).toBe(body.length);
    expectNoMetadataText(body);
    const again = await serveStoredFile(
      storage,
      "images/ab/abc.jpg",
      new Request("http://localhost/x", { headers: { "if-none-match": res.headers.get("etag")! } }),
    );
    expect(again.status).toBe(304);

    expect((await serveStoredFile(storage, "images/ab/abd.tif", new Request("http://localhost/x"))).status).toBe(415);
    // Tiles are made by our import (no metadata) and keep range support.
    const tile = await serveStoredFile(
      storage,
      "dz/ab/abc_files/0/0_0.jpeg",
      new Request("http://localhost/x", { headers: { range: "bytes=0-9" } }),
    );
    expect(tile.status).toBe(206);
  });
});
