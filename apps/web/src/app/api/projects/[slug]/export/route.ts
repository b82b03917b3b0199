import { getDb } from "../../../../../server/db";
import { handleProjectExport } from "../../../../../server/downloads";
import { getSessionUser } from "../../../../../server/session";
import { getStorage } from "../../../../../server/storage";

export const dynamic = "force-dynamic";

/** Streams a COCO / Pascal VOC / CSV manifest export of the project to a lead (see docs/export.md). */
export async function GET(request: Request, context: { params: Promise<{ slug: string }> }): Promise<Response> {
  const { slug } = await context.params;
  return handleProjectExport({ db: await getDb(), storage: getStorage(), user: await getSessionUser() }, slug, new URL(request.url));
}
