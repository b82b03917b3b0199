import { randomBytes } from "node:crypto";
import type { Db } from "../../src/client";
import { cell, image } from "../../src/schema";
import { ensureDataset, ensureInstitution } from "../../src/queries/datasets";
import { saveLabel } from "../../src/queries/labels";
import { addProjectDataset, ensureProject, setMembership } from "../../src/queries/projects";
import { getSchemeByKey } from "../../src/queries/schemes";
import { addInstitutionMember, ensureUser, type PublicUser } from "../../src/queries/users";

/**
 * A small project for tests of the read queries and the web API: one crop dataset (pbc-8, 6 crops with
 * imported labels), one field dataset (2 fields with 3 box cells), users for every role, an outsider,
 * an institution member and a second project that the first project's members cannot see.
 */
export type ProjectFixture = {
  projectId: string;
  projectSlug: string;
  otherProjectId: string;
  otherProjectSlug: string;
  schemeId: string;
  classIds: Record<string, string>;
  cropDatasetId: string;
  fieldDatasetId: string;
  otherDatasetId: string;
  cropCellIds: string[];
  fieldImageId: string;
  fieldCellIds: string[];
  otherCellId: string;
  keys: { thumb: string; original: string; dzi: string; tile: string; otherThumb: string };
  users: Record<"admin" | "lead" | "reviewer" | "annotator" | "outsider" | "instMember" | "sysadmin", PublicUser>;
};

const cropClasses = ["basophil", "eosinophil", "lymphocyte", "neutrophil", "neutrophil", "platelet"];

export async function createProjectFixture(db: Db): Promise<ProjectFixture> {
  const tag = randomBytes(3).toString("hex");
  const pbc = await getSchemeByKey(db, "pbc-8");
  const classIds = Object.fromEntries(pbc.classes.map((c) => [c.key, c.id]));
  const inst = await ensureInstitution(db, `Test Hospital ${tag}`);
  const otherInst = await ensureInstitution(db, `Other Hospital ${tag}`);
  const crops = await ensureDataset(db, {
    institutionId: inst.id,
    name: `crops-${tag}`,
    schemeKey: "pbc-8",
    site: "Barcelona",
    stain: "May Grünwald-Giemsa",
    device: "CellaVision DM96",
    magnification: "100x",
    licence: "CC BY 4.0",
  });
  const fields = await ensureDataset(db, { institutionId: inst.id, name: `fields-${tag}`, schemeKey: "wbc-5", stain: "Giemsa" });
  const other = await ensureDataset(db, { institutionId: otherInst.id, name: `private-${tag}`, schemeKey: "pbc-8" });

  const proj = await ensureProject(db, { slug: `proj-${tag}`, name: `Project ${tag}`, schemeKey: "pbc-8" });
  const otherProj = await ensureProject(db, { slug: `other-${tag}`, name: `Other ${tag}`, schemeKey: "pbc-8" });
  await addProjectDataset(db, proj.id, crops.id);
  await addProjectDataset(db, proj.id, fields.id);
  await addProjectDataset(db, otherProj.id, other.id);

  const mk = (role: string, extra: { isSystemAdmin?: boolean } = {}) =>
    ensureUser(db, { email: `${role}-${tag}@test.local`, name: `${role} ${tag}`, password: `${role}-pw`, ...extra });
  const users = {
    admin: await mk("admin"),
    lead: await mk("lead"),
    reviewer: await mk("reviewer"),
    annotator: await mk("annotator"),
    outsider: await mk("outsider"),
    instMember: await mk("instmember"),
    sysadmin: await mk("sysadmin", { isSystemAdmin: true }),
  };
  for (const role of ["admin", "lead", "reviewer", "annotator"] as const) {
    await setMembership(db, { projectId: proj.id, userId: users[role].id, role });
  }
  await setMembership(db, { projectId: otherProj.id, userId: users.outsider.id, role: "lead" });
  await addInstitutionMember(db, { institutionId: inst.id, userId: users.instMember.id, role: "member" });

  const sha = (i: number) => `${tag}${String(i).padStart(4, "0")}`.padEnd(64, "0");
  const cropCellIds: string[] = [];
  for (const [i, key] of cropClasses.entries()) {
    const h = sha(i);
    const [img] = await db
      .insert(image)
      .values({
        datasetId: crops.id,
        sha256: h,
        kind: "crop",
        originalName: `${key}/${key}_${i}.jpg`,
        format: "jpeg",
        width: 360,
        height: 363,
        byteSize: 1000,
        storageKey: `images/${h.slice(0, 2)}/${h}.jpg`,
        thumbnailKey: `thumbs/${h.slice(0, 2)}/${h}.webp`,
      })
      .returning();
    const [c] = await db.insert(cell).values({ imageId: img!.id, geometry: "whole", sourceLabel: key }).returning();
    cropCellIds.push(c!.id);
    await saveLabel(db, {
      cellId: c!.id,
      classId: classIds[key]!,
      readerId: null,
      source: "imported",
      expectedVersion: null,
      actorId: null,
    });
  }

  const fieldSha = sha(100);
  const dzi = `dz/${fieldSha.slice(0, 2)}/${fieldSha}.dzi`;
  const [field] = await db
    .insert(image)
    .values({
      datasetId: fields.id,
      sha256: fieldSha,
      kind: "field",
      originalName: "BloodImage_00001.jpg",
      format: "jpeg",
      width: 640,
      height: 480,
      byteSize: 5000,
      storageKey: `images/${fieldSha.slice(0, 2)}/${fieldSha}.jpg`,
      thumbnailKey: `thumbs/${fieldSha.slice(0, 2)}/${fieldSha}.webp`,
      dziKey: dzi,
    })
    .returning();
  const wbc = await getSchemeByKey(db, "wbc-5");
  const fieldCellIds: string[] = [];
  for (const [i, box] of [
    [100, 80, 120, 110],
    [300, 200, 90, 90],
    [500, 20, 60, 70],
  ].entries()) {
    const [c] = await db
      .insert(cell)
      .values({ imageId: field!.id, geometry: "box", x: box[0], y: box[1], width: box[2], height: box[3], sourceLabel: "WBC" })
      .returning();
    fieldCellIds.push(c!.id);
    if (i < 2) {
      await saveLabel(db, {
        cellId: c!.id,
        classId: wbc.classes[i]!.id,
        readerId: null,
        source: "imported",
        expectedVersion: null,
        actorId: null,
      });
    }
  }
  const otherSha = sha(200);
  const [otherImg] = await db
    .insert(image)
    .values({
      datasetId: other.id,
      sha256: otherSha,
      kind: "crop",
      originalName: "secret.jpg",
      format: "jpeg",
      width: 100,
      height: 100,
      byteSize: 100,
      storageKey: `images/${otherSha.slice(0, 2)}/${otherSha}.jpg`,
      thumbnailKey: `thumbs/${otherSha.slice(0, 2)}/${otherSha}.webp`,
    })
    .returning();
  const [otherCell] = await db.insert(cell).values({ imageId: otherImg!.id, geometry: "whole" }).returning();

  const first = sha(0);
  return {
    projectId: proj.id,
    projectSlug: proj.slug,
    otherProjectId: otherProj.id,
    otherProjectSlug: otherProj.slug,
    schemeId: pbc.id,
    classIds,
    cropDatasetId: crops.id,
    fieldDatasetId: fields.id,
    otherDatasetId: other.id,
    cropCellIds,
    fieldImageId: field!.id,
    fieldCellIds,
    otherCellId: otherCell!.id,
    keys: {
      thumb: `thumbs/${first.slice(0, 2)}/${first}.webp`,
      original: `images/${first.slice(0, 2)}/${first}.jpg`,
      dzi,
      tile: `dz/${fieldSha.slice(0, 2)}/${fieldSha}_files/9/0_0.jpeg`,
      otherThumb: `thumbs/${otherSha.slice(0, 2)}/${otherSha}.webp`,
    },
    users,
  };
}
