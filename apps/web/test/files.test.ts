import { describe, expect, it } from "vitest";
import { contentTypeFor, parseFileKey } from "../src/server/files";

describe("file keys served by /api/files", () => {
  it("accepts stored image, thumbnail, descriptor and tile keys", () => {
    const sha = "ab".padEnd(64, "c");
    for (const key of [`images/ab/${sha}.jpg`, `thumbs/ab/${sha}.webp`, `dz/ab/${sha}.dzi`, `dz/ab/${sha}_files/12/3_4.jpeg`]) {
      expect(parseFileKey(key.split("/"))).toEqual({ ok: true, key });
    }
  });

  it("rejects traversal and odd segments", () => {
    for (const segments of [
      ["images", "..", "..", "etc", "passwd"],
      ["images", "ab", ".."],
      ["images", ".", "x.jpg"],
      ["images", "..%2F..%2Fetc"],
      ["images", "../../etc/passwd"],
      ["images", "a\\..\\b.jpg"],
      ["images", ""],
      ["images", ".hidden"],
      ["images", "x\u0000.jpg"],
      ["x.jpg"],
    ]) {
      const r = parseFileKey(segments);
      expect(r.ok, segments.join("/")).toBe(false);
    }
  });

  it("serves only image prefixes", () => {
    expect(parseFileKey(["models", "m1", "model.json"])).toMatchObject({ ok: false, status: 404 });
    expect(parseFileKey(["pglite", "base", "1"])).toMatchObject({ ok: false, status: 404 });
  });

  it("knows the content types", () => {
    expect(contentTypeFor("images/ab/x.jpg")).toBe("image/jpeg");
    expect(contentTypeFor("thumbs/ab/x.webp")).toBe("image/webp");
    expect(contentTypeFor("dz/ab/x.dzi")).toMatch(/^application\/xml/);
    expect(contentTypeFor("dz/ab/x_files/1/0_0.jpeg")).toBe("image/jpeg");
    expect(contentTypeFor("images/ab/x.PNG")).toBe("image/png");
    expect(contentTypeFor("images/ab/x")).toBe("application/octet-stream");
  });
});
