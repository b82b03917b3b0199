import { and, eq, inArray, isNotNull, isNull } from "drizzle-orm";
import path from "node:path";
import type { Db, DbOrTx } from "../client";
import { importImages } from "../import/import-images";
import type { ImportResult } from "../import/import-types";
import { addProjectDataset, ensureProject, setMembership } from "../queries/projects";
import { recordAudit } from "../queries/audit";
import { addInstitutionMember, ensureUser, findUserByEmail, hashPassword, type PublicUser } from "../queries/users";
import { user } from "../schema";
import type { Storage } from "../storage/storage";
import { DEMO_ANNOTATOR_LOGIN, DEMO_LOGIN, DEMO_LOGINS, DEMO_REVIEWER_LOGIN } from "./demo-logins";

export { DEMO_ANNOTATOR_LOGIN, DEMO_LOGIN, DEMO_LOGINS, DEMO_REVIEWER_LOGIN, isDemoEmail } from "./demo-logins";
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
  const lead = await ensureDemoUser(db, { ...DEMO_LOGIN, name: "Demo Lead", isSystemAdmin: true });
  const annotator = await ensureDemoUser(db, { ...DEMO_ANNOTATOR_LOGIN, name: "Demo Annotator" });
  const reviewer = await ensureDemoUser(db, { ...DEMO_REVIEWER_LOGIN, name: "Demo Reviewer" });
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

/** Creates a demo user, or gives a demo user disabled by a non-demo start its published password back. */
async function ensureDemoUser(
  db: Db,
  input: { email: string; password: string; name: string; isSystemAdmin?: boolean },
): Promise<PublicUser> {
  const created = await ensureUser(db, input);
  if ((await findUserByEmail(db, input.email))?.passwordHash) return created;
  const passwordHash = await hashPassword(input.password);
  await db.transaction(async (tx) => {
    const [enabled] = await tx
      .update(user)
      .set({ passwordHash, disabledAt: null })
      .where(and(eq(user.id, created.id), isNull(user.passwordHash)))
      .returning({ id: user.id });
    if (enabled) await recordDemoAudit(tx, enabled.id, "user.demo-enable", { canSignIn: false }, { canSignIn: true });
  });
  return created;
}

/**
 * Outside demo mode the published demo passwords must not open anything: takes the password off every
 * demo account that still has one (the accounts and their labels stay; a later demo run restores the
 * password). One transaction: the updates and their audit events land together or not at all.
 * Returns the emails that were disabled (empty when there was nothing to do).
 */
export async function disableDemoUsers(db: Db): Promise<string[]> {
  return db.transaction(async (tx) => {
    const disabled = await tx
      .update(user)
      .set({ passwordHash: null, disabledAt: new Date() })
      .where(
        and(
          inArray(
            user.email,
            DEMO_LOGINS.map((l) => l.email),
          ),
          isNotNull(user.passwordHash),
        ),
      )
      .returning({ id: user.id, email: user.email });
    for (const row of disabled) await recordDemoAudit(tx, row.id, "user.demo-disable", { canSignIn: true }, { canSignIn: false });
    return disabled.map((row) => row.email).sort();
  });
}

function recordDemoAudit(tx: DbOrTx, userId: string, action: string, before: unknown, after: unknown) {
  // No actor: the launcher does this, not a signed-in person.
  return recordAudit(tx, { actorId: null, action, entityType: "user", entityId: userId, before, after });
}
