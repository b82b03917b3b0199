import { getDb } from "../../../../server/db";
import { checkFileAccess, parseFileKey, serveStoredFile } from "../../../../server/files";
import { getSessionUser } from "../../../../server/session";
import { getStorage } from "../../../../server/storage";

export const dynamic = "force-dynamic";

function refuse(status: number, message: string): Response {
  return new Response(message, { status, headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" } });
}

/**
 * Streams an image, thumbnail, Deep Zoom descriptor or tile from storage (local directory or bucket)
 * to a signed-in user who may see the image's dataset (project member, institution member or system admin).
 */
export async function GET(request: Request, context: { params: Promise<{ key: string[] }> }): Promise<Response> {
  const user = await getSessionUser();
  if (!user) return refuse(401, "sign in first");
  const parsed = parseFileKey((await context.params).key);
  if (!parsed.ok) return refuse(parsed.status, parsed.reason);
  const { key } = parsed;

  const access = await checkFileAccess(await getDb(), user, key);
  // A dataset the user may not see answers like a missing file: its existence is private.
  if (access === "not_found") return refuse(404, "not found");

  return serveStoredFile(getStorage(), key, request);
}
