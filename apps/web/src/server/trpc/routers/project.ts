import {
  getProjectOverview,
  listAttachableDatasets,
  listProjectImages,
  listProjectsForViewer,
  listSchemes,
  mayCreateProjects,
} from "@hemaloop/db/queries";
import {
  attachDatasetToProject,
  createProjectAsUser,
  detachDatasetFromProject,
  setProjectArchived,
  updateFineTuneEveryLabels,
  updateProjectDetails,
  type ProjectUserActor,
} from "@hemaloop/db/services";
import { ROUND_DEFAULTS } from "@hemaloop/ml/contracts";
import { z } from "zod";
import { projectCreatorProcedure, protectedProcedure, roleProcedure, router } from "../init";

export const projectSlugSchema = z
  .string()
  .trim()
  .min(2, "a slug has at least 2 characters")
  .max(100)
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, "lower-case letters, digits and single hyphens, e.g. aml-study");

export const createProjectInput = z.object({
  slug: projectSlugSchema,
  name: z.string().trim().min(1, "a project needs a name").max(200),
  schemeKey: z.string().trim().min(1).max(100),
  description: z.string().trim().max(2000).optional(),
  datasetIds: z.array(z.uuid()).max(200).default([]),
});

export const updateProjectInput = z.object({
  name: z.string().trim().min(1, "a project needs a name").max(200),
  description: z.string().trim().max(2000).nullable(),
});

const actorOf = (ctx: { project: { id: string }; user: { id: string; isSystemAdmin: boolean } }): ProjectUserActor => ({
  projectId: ctx.project.id,
  actorId: ctx.user.id,
  isSystemAdmin: ctx.user.isSystemAdmin,
});

export const projectRouter = router({
  /** Projects I am a member of (every project for system admins); archived ones only when asked. */
  mine: protectedProcedure
    .input(z.object({ includeArchived: z.boolean().default(false) }).default({ includeArchived: false }))
    .query(({ ctx, input }) => listProjectsForViewer(ctx.db, ctx.user, input)),

  /** What the new-project form needs: whether I may create one, the schemes, and the datasets I may start with. */
  createOptions: protectedProcedure.query(async ({ ctx }) => {
    const allowed = await mayCreateProjects(ctx.db, ctx.user);
    if (!allowed) return { allowed, schemes: [], datasets: [] };
    const schemes = (await listSchemes(ctx.db)).map((s) => ({ key: s.key, name: s.name }));
    return { allowed, schemes, datasets: await listAttachableDatasets(ctx.db, ctx.user, null) };
  }),

  /** Creates a project (system and institution admins); the creator becomes its admin. A taken slug is CONFLICT. */
  create: projectCreatorProcedure
    .input(createProjectInput)
    .mutation(({ ctx, input }) => createProjectAsUser(ctx.db, { actorId: ctx.user.id, isSystemAdmin: ctx.user.isSystemAdmin }, input)),

  /** One project with its scheme, datasets (with provenance) and per-class label counts. */
  get: roleProcedure("annotator").query(async ({ ctx }) => ({
    ...(await getProjectOverview(ctx.db, ctx.project)),
    role: ctx.role,
  })),

  /** The settings page (leads view, admins edit): the project and the datasets I could still attach. */
  settings: roleProcedure("lead").query(async ({ ctx }) => ({
    ...(await getProjectOverview(ctx.db, ctx.project)),
    role: ctx.role,
    attachable: await listAttachableDatasets(ctx.db, ctx.user, ctx.project.id),
  })),

  update: roleProcedure("admin")
    .input(updateProjectInput)
    .mutation(({ ctx, input }) => updateProjectDetails(ctx.db, actorOf(ctx), input)),

  /** Active learning: how many new verified labels make a round queue the full fine-tune (leads; audited). */
  setFineTuneEveryLabels: roleProcedure("lead")
    .input(
      z.object({
        fineTuneEveryLabels: z.number().int().min(ROUND_DEFAULTS.fineTuneEveryLabelsMin).max(ROUND_DEFAULTS.fineTuneEveryLabelsMax),
      }),
    )
    .mutation(({ ctx, input }) => updateFineTuneEveryLabels(ctx.db, actorOf(ctx), input)),

  /** Archive (read-only, hidden from the home list) or unarchive: the one mutation an archived project accepts. */
  setArchived: roleProcedure("admin", { allowArchived: true })
    .input(z.object({ archived: z.boolean() }))
    .mutation(({ ctx, input }) => setProjectArchived(ctx.db, actorOf(ctx), input)),

  /** Attaches a dataset shared with the project or owned by one of my institutions (any for system admins). */
  attachDataset: roleProcedure("lead")
    .input(z.object({ datasetId: z.uuid() }))
    .mutation(({ ctx, input }) => attachDatasetToProject(ctx.db, actorOf(ctx), input)),

  detachDataset: roleProcedure("lead")
    .input(z.object({ datasetId: z.uuid() }))
    .mutation(({ ctx, input }) => detachDatasetFromProject(ctx.db, actorOf(ctx), input)),

  /** Field images (smears) of the project, for the deep-zoom viewer. */
  fields: roleProcedure("annotator")
    .input(z.object({ limit: z.number().int().min(1).max(500).default(100), offset: z.number().int().min(0).max(10_000_000).default(0) }))
    .query(({ ctx, input }) =>
      listProjectImages(ctx.db, { projectId: ctx.project.id, kind: "field", limit: input.limit, offset: input.offset }),
    ),
});
