import { getDb } from "../../../../../server/db";
import { getEnv } from "../../../../../env";
import { getSessionUser } from "../../../../../server/session";
import { getStorage } from "../../../../../server/storage";
import { handleProjectUpload } from "../../../../../server/uploads";

export const dynamic = "force-dynamic";

/** Streams a zip or image files into storage and queues their import (see server/uploads.ts); lead or higher. */
export async function POST(request: Request, context: { params: Promise<{ slug: string }> }): Promise<Response> {
  const { slug } = await context.params;
  const deps = { db: await getDb(), storage: getStorage(), user: await getSessionUser(), maxBytes: getEnv().uploadMaxBytes };
  return handleProjectUpload(deps, slug, request);
}
