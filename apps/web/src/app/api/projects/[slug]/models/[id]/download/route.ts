import { getDb } from "../../../../../../../server/db";
import { handleModelDownload } from "../../../../../../../server/downloads";
import { getSessionUser } from "../../../../../../../server/session";
import { getStorage } from "../../../../../../../server/storage";

export const dynamic = "force-dynamic";

/** Streams a model version as a zip (ONNX, tfjs, config, evaluation report) to any project member. */
export async function GET(_request: Request, context: { params: Promise<{ slug: string; id: string }> }): Promise<Response> {
  const { slug, id } = await context.params;
  return handleModelDownload({ db: await getDb(), storage: getStorage(), user: await getSessionUser() }, slug, id);
}
