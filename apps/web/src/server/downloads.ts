import type { Db } from "@hemaloop/db/client";
import { DomainError, NotFoundError } from "@hemaloop/db/errors";
import { createModelArchive, exportFormats, exportLabelsParam, startExport, toLabelChoice } from "@hemaloop/db/export";
import { getMembershipRole, getProjectBySlug, hasProjectRole, type Project, type ProjectRole } from "@hemaloop/db/queries";
import type { Storage } from "@hemaloop/db/storage";
import { Readable } from "node:stream";
import { z } from "zod";
import type { SessionUser } from "./trpc/init";

export type DownloadDeps = { db: Db; storage: Storage; user: SessionUser | null };

function plain(status: number, message: string): Response {
  return new Response(message, { status, headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" } });
}

/**
 * The same rule as roleProcedure: system admins act as admin, others need a membership of at least
 * minRole. A project the user is not a member of answers 404, so slugs do not leak; a member without
 * the role gets 403.
 */
export async function authorizeProject(
  deps: Pick<DownloadDeps, "db" | "user">,
  slug: string,
  minRole: ProjectRole,
): Promise<{ project: Project } | { status: 401 | 403 | 404; message: string }> {
  if (!deps.user) return { status: 401, message: "sign in first" };
  let project: Project;
  try {
    project = await getProjectBySlug(deps.db, slug);
  } catch (error) {
    if (error instanceof NotFoundError) return { status: 404, message: "not found" };
    throw error;
  }
  const role = deps.user.isSystemAdmin ? "admin" : await getMembershipRole(deps.db, project.id, deps.user.id);
  if (!role) return { status: 404, message: "not found" };
  if (!hasProjectRole(role, minRole)) return { status: 403, message: `this needs the ${minRole} role or higher (you are ${role})` };
  return { project };
}

async function authorize(deps: DownloadDeps, slug: string, minRole: ProjectRole): Promise<Project | Response> {
  const outcome = await authorizeProject(deps, slug, minRole);
  return "project" in outcome ? outcome.project : plain(outcome.status, outcome.message);
}

const uuid = z.string().uuid();
const exportQuery = z.object({
  format: z.enum(exportFormats),
  labels: exportLabelsParam,
  scheme: z.string().trim().min(1).max(100).optional(),
});

function attachment(stream: Readable, contentType: string, fileName: string): Response {
  return new Response(Readable.toWeb(stream) as ReadableStream<Uint8Array>, {
    headers: {
      "content-type": contentType,
      "content-disposition": `attachment; filename="${fileName.replace(/[^A-Za-z0-9._-]/g, "_")}"`,
      "cache-control": "no-store",
    },
  });
}

/** Domain errors are the caller's to fix; anything else is logged and answered without internals. */
function failure(error: unknown, what: string): Response {
  if (error instanceof DomainError) return plain(error.code === "NOT_FOUND" ? 404 : 400, error.message);
  console.error(`[${what}]`, error);
  return plain(500, `${what} failed`);
}

/** GET /api/projects/<slug>/export?format=coco|voc|csv&labels=...&scheme=<key>: lead or higher. */
export async function handleProjectExport(deps: DownloadDeps, slug: string, url: URL): Promise<Response> {
  try {
    const project = await authorize(deps, slug, "lead");
    if (project instanceof Response) return project;
    const query = exportQuery.safeParse(Object.fromEntries(url.searchParams));
    if (!query.success) return plain(400, query.error.issues.map((i) => `${i.path.join(".") || "query"}: ${i.message}`).join("; "));
    const { format, labels, scheme } = query.data;
    // On the web a reader is named by user id, and must be a member of this project.
    const choice = await toLabelChoice(labels, async (reader) =>
      uuid.safeParse(reader).success && (await getMembershipRole(deps.db, project.id, reader)) ? reader : null,
    );
    const started = await startExport(deps.db, deps.storage, {
      scope: { projectId: project.id },
      labels: choice,
      schemeKey: scheme,
      format,
      actorId: deps.user!.id,
    });
    const labelName = labels.kind === "reader" ? "reader" : labels.kind;
    return attachment(
      started.stream,
      started.contentType,
      `${project.slug}-${labelName}${scheme ? `-${scheme}` : ""}.${started.fileExtension}`,
    );
  } catch (error) {
    return failure(error, "export");
  }
}

/** GET /api/projects/<slug>/models/<id>/download: the model version's files as a zip; annotator or higher. */
export async function handleModelDownload(deps: DownloadDeps, slug: string, modelVersionId: string): Promise<Response> {
  try {
    const project = await authorize(deps, slug, "annotator");
    if (project instanceof Response) return project;
    if (!uuid.safeParse(modelVersionId).success) return plain(404, "not found");
    const archive = await createModelArchive(deps.db, deps.storage, { projectId: project.id, modelVersionId, actorId: deps.user!.id });
    return attachment(archive.stream, "application/zip", archive.fileName);
  } catch (error) {
    return failure(error, "model download");
  }
}
