import type { Db } from "@hemaloop/db/client";
import { dziKeyForTile, resolveStorageKeyAccess, type StorageKeyAccess } from "@hemaloop/db/queries";
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
