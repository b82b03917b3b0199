import { Readable } from "node:stream";
import { getDb } from "../../../../server/db";
import { checkFileAccess, contentTypeFor, parseFileKey } from "../../../../server/files";
import { getSessionUser } from "../../../../server/session";
import { getStorage } from "../../../../server/storage";

export const dynamic = "force-dynamic";

function refuse(status: number, message: string): Response {
  return new Response(message, { status, headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" } });
}

/**
 * Streams an image, thumbnail, Deep Zoom descriptor or tile from storage to a signed-in user who may
 * see the image's dataset (project member, institution member or system admin).
 */
export async function GET(request: Request, context: { params: Promise<{ key: string[] }> }): Promise<Response> {
  const user = await getSessionUser();
  if (!user) return refuse(401, "sign in first");
  const parsed = parseFileKey((await context.params).key);
  if (!parsed.ok) return refuse(parsed.status, parsed.reason);
  const { key } = parsed;

  const access = await checkFileAccess(await getDb(), user, key);
  if (access === "not_found") return refuse(404, "not found");
  if (access === "forbidden") return refuse(403, "you may not see this dataset");

  const storage = getStorage();
  const stat = await storage.stat(key);
  if (!stat) return refuse(404, "file missing from storage");

  // Keys are content-addressed, so the bytes behind a key never change.
  const etag = `"${stat.size.toString(16)}-${Math.floor(stat.modifiedAt.getTime() / 1000).toString(16)}"`;
  const headers = new Headers({
    "content-type": contentTypeFor(key),
    "cache-control": "private, max-age=31536000, immutable",
    etag,
    "x-content-type-options": "nosniff",
  });
  if (request.headers.get("if-none-match") === etag) return new Response(null, { status: 304, headers });
  headers.set("content-length", String(stat.size));
  const body = Readable.toWeb(storage.createReadStream(key)) as ReadableStream<Uint8Array>;
  return new Response(body, { status: 200, headers });
}
