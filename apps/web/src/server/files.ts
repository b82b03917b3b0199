import type { Db } from "@hemaloop/db/client";
import { dziKeyForTile, resolveStorageKeyAccess, type StorageKeyAccess } from "@hemaloop/db/queries";
import type { Storage } from "@hemaloop/db/storage";
import { Readable } from "node:stream";
import parseRange from "range-parser";
import { stripImageMetadata } from "./strip-image-metadata";
import type { SessionUser } from "./trpc/init";

/** Stored image files the file route serves; model artifacts and anything else are not reachable. */
const SERVED_PREFIXES = ["images/", "thumbs/", "dz/"] as const;
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/;

export type ParsedKey = { ok: true; key: string } | { ok: false; status: 400 | 404; reason: string };

/**
 * Joins and checks the URL segments of /api/files/<key>: plain segments only (no "..", ".", empty,
 * encoded slashes or backslashes, hidden files), under a served prefix.
 */
export function parseFileKey(segments: readonly string[]): ParsedKey {
  if (segments.length < 2 || segments.length > 8) return { ok: false, status: 400, reason: "bad key" };
  for (const s of segments) {
    if (s === "." || s === ".." || !SEGMENT.test(s)) return { ok: false, status: 400, reason: "bad key segment" };
  }
  const key = segments.join("/");
  if (!SERVED_PREFIXES.some((p) => key.startsWith(p))) return { ok: false, status: 404, reason: "not a served file" };
  return { ok: true, key };
}

const contentTypes: Record<string, string> = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  tif: "image/tiff",
  tiff: "image/tiff",
  bmp: "image/bmp",
  gif: "image/gif",
  dzi: "application/xml; charset=utf-8",
};

export function contentTypeFor(key: string): string {
  const ext = key.slice(key.lastIndexOf(".") + 1).toLowerCase();
  return contentTypes[ext] ?? "application/octet-stream";
}

/**
 * Access decisions cached briefly per user and image (a deep-zoom view requests dozens of tiles of
 * the same pyramid). Short TTL so a revoked membership stops serving within a minute.
 */
const TTL_MS = 60_000;
const MAX_ENTRIES = 10_000;
const cache = new Map<string, { access: StorageKeyAccess; until: number }>();

export async function checkFileAccess(db: Db, user: SessionUser, key: string): Promise<StorageKeyAccess> {
  const cacheKey = `${user.id}|${user.isSystemAdmin ? 1 : 0}|${dziKeyForTile(key) ?? key}`;
  const now = Date.now();
  const hit = cache.get(cacheKey);
  if (hit && hit.until > now) return hit.access;
  const access = await resolveStorageKeyAccess(db, user, key);
  if (cache.size >= MAX_ENTRIES) cache.clear();
  cache.set(cacheKey, { access, until: now + TTL_MS });
  return access;
}

function plainResponse(status: number, message: string, headers: Record<string, string> = {}): Response {
  return new Response(message, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

/**
 * Streams a stored file from any backend (local directory or bucket) with its cache headers: 304 for a
 * matching If-None-Match, 206 for one satisfiable byte range (416 otherwise), 200 for the rest.
 * Access must be checked before calling this.
 */
export async function serveStoredFile(storage: Storage, key: string, request: Request): Promise<Response> {
  const stat = await storage.stat(key);
  if (!stat) return plainResponse(404, "file missing from storage");

  // Keys are content-addressed, so the bytes behind a key never change.
  const etag = `"${stat.size.toString(16)}-${Math.floor(stat.modifiedAt.getTime() / 1000).toString(16)}"`;
  if (key.startsWith(ORIGINALS_PREFIX)) return serveOriginal(storage, key, etag, request);
  const headers = new Headers({
    "content-type": contentTypeFor(key),
    "cache-control": "private, max-age=31536000, immutable",
    etag,
    "accept-ranges": "bytes",
    "x-content-type-options": "nosniff",
  });
  if (request.headers.get("if-none-match") === etag) return new Response(null, { status: 304, headers });

  const rangeHeader = request.headers.get("range");
  const ifRange = request.headers.get("if-range");
  // A range only applies to the version the client already has part of.
  const range = rangeHeader && (!ifRange || ifRange === etag) ? parseRange(stat.size, rangeHeader, { combine: true }) : undefined;
  if (range === -1) return plainResponse(416, "range not satisfiable", { "content-range": `bytes */${stat.size}` });
  // Malformed (-2), other units or several ranges: the whole file, as RFC 9110 allows.
  if (typeof range === "object" && range.type === "bytes" && range.length === 1) {
    const { start, end } = range[0]!;
    headers.set("content-range", `bytes ${start}-${end}/${stat.size}`);
    headers.set("content-length", String(end - start + 1));
    return new Response(toWebStream(storage.createReadStream(key, { start, end })), { status: 206, headers });
  }
  headers.set("content-length", String(stat.size));
  return new Response(toWebStream(storage.createReadStream(key)), { status: 200, headers });
}

const ORIGINALS_PREFIX = "images/";

/**
 * Originals are uploaded files as they came (thumbnails and tiles are re-encoded at import and carry
 * nothing): served whole with their metadata stripped, so no ranges; formats that cannot be stripped
 * here (TIFF, GIF, ...; browsers do not display TIFF anyway) are refused.
 */
async function serveOriginal(storage: Storage, key: string, storedEtag: string, request: Request): Promise<Response> {
  const etag = storedEtag.replace(/"$/, '-s"');
  const headers = new Headers({
    "content-type": contentTypeFor(key),
    "cache-control": "private, max-age=31536000, immutable",
    etag,
    "accept-ranges": "none",
    "x-content-type-options": "nosniff",
  });
  if (request.headers.get("if-none-match") === etag) return new Response(null, { status: 304, headers });
  const stripped = stripImageMetadata(await storage.read(key));
  if (!stripped.ok) return plainResponse(415, "this original cannot be served without its metadata");
  headers.set("content-length", String(stripped.bytes.length));
  return new Response(new Uint8Array(stripped.bytes), { status: 200, headers });
}

function toWebStream(stream: Readable): ReadableStream<Uint8Array> {
  return Readable.toWeb(stream) as ReadableStream<Uint8Array>;
}
