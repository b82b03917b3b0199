import path from "node:path";
import type { Db } from "../client";
import { importImages } from "../import/import-images";
import type { ImportResult } from "../import/import-types";
import { addProjectDataset, ensureProject, setMembership } from "../queries/projects";
import { addInstitutionMember, ensureUser, type PublicUser } from "../queries/users";
import type { Storage } from "../storage/storage";

/** The login printed by `npm start`. Demo credentials only: never used outside the demo seed. */
export const DEMO_LOGIN = { email: "demo@hemaloop.local", password: "hemaloop-demo" } as const;
export const DEMO_ANNOTATOR_LOGIN = { email: "annotator@hemaloop.local", password: "hemaloop-annotator" } as const;
export const DEMO_REVIEWER_LOGIN = { email: "reviewer@hemaloop.local", password: "hemaloop-reviewer" } as const;
export const DEMO_PROJECT_SLUG = "pbc-demo";

export const DEMO_PBC = {
  institution: "Hospital Clinic Barcelona (demo)",
  dataset: "pbc-demo",
  provenance: {
    site: "Hospital Clinic Barcelona",
    device: "CellaVision DM96",
    stain: "May-Grünwald-Giemsa",
    licence: "CC BY 4.0",
    attribution:
      'Acevedo A. et al., "A dataset of microscopic peripheral blood cell images for development of automatic recognition systems", Data in Brief 30 (2020) 105474',
    description: "Demo subset of the PBC normal peripheral blood cell dataset: 5 crops per pbc-8 class.",
  },
} as const;

export const DEMO_BCCD = {
  institution: "BCCD (demo)",
  dataset: "bccd-demo",
  provenance: {
    licence: "MIT",
    attribution: "BCCD Dataset (Shenggan), https://github.com/Shenggan/BCCD_Dataset",
    description: "Demo subset of BCCD: 4 smear fields with WBC/RBC/Platelets boxes (WBC and RBC boxes are left for labelling).",
  },
} as const;

export type SeedDemoResult = {
  projectId: string;
  users: { lead: PublicUser; annotator: PublicUser; reviewer: PublicUser };
  pbc: ImportResult;
  bccd: ImportResult;
};

/**
 * Creates the demo project from the committed fixture (fixtures/demo: PBC crops and BCCD fields with
 * their VOC boxes). Idempotent: users, institutions and the project are found-or-created and the
 * images are content-hashed, so a second run adds nothing.
 */
export async function seedDemo(
  db: Db,
  storage: Storage,
  options: { fixtureDir: string; maxImagePixels?: number },
): Promise<SeedDemoResult> {
  const lead = await ensureUser(db, { ...DEMO_LOGIN, name: "Demo Lead", isSystemAdmin: true });
  const annotator = await ensureUser(db, { ...DEMO_ANNOTATOR_LOGIN, name: "Demo Annotator" });
  const reviewer = await ensureUser(db, { ...DEMO_REVIEWER_LOGIN, name: "Demo Reviewer" });
  const maxImagePixels = options.maxImagePixels ?? 50_000_000;

  const pbc = await importImages(db, storage, {
    source: { kind: "dir", dir: path.join(options.fixtureDir, "pbc") },
    institution: DEMO_PBC.institution,
    dataset: DEMO_PBC.dataset,
    schemeKey: "pbc-8",
    provenance: DEMO_PBC.provenance,
    maxImagePixels,
    actorId: lead.id,
  });
  const bccd = await importImages(db, storage, {
    source: { kind: "voc", dir: path.join(options.fixtureDir, "bccd") },
    institution: DEMO_BCCD.institution,
    dataset: DEMO_BCCD.dataset,
    schemeKey: "pbc-8",
    kind: "field",
    labelMap: { Platelets: "platelet" },
    provenance: DEMO_BCCD.provenance,
    maxImagePixels,
    actorId: lead.id,
  });

  for (const institutionId of [pbc.institutionId, bccd.institutionId]) {
    await addInstitutionMember(db, { institutionId, userId: lead.id, role: "admin" });
  }

  const project = await ensureProject(db, {
    slug: DEMO_PROJECT_SLUG,
    name: "PBC demo",
    schemeKey: "pbc-8",
    description: "Demo project: PBC crops (crop mode) and BCCD smear fields (field mode) in the pbc-8 scheme.",
    createdBy: lead.id,
  });
  await addProjectDataset(db, project.id, pbc.datasetId);
  await addProjectDataset(db, project.id, bccd.datasetId);
  await setMembership(db, { projectId: project.id, userId: lead.id, role: "lead" });
  await setMembership(db, { projectId: project.id, userId: annotator.id, role: "annotator" });
  await setMembership(db, { projectId: project.id, userId: reviewer.id, role: "reviewer" });

  return { projectId: project.id, users: { lead, annotator, reviewer }, pbc, bccd };
}
