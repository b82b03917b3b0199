/**
 * Authorization as a table: every tRPC procedure of appRouter and every route handler under app/api,
 * called by every kind of caller, with ids of the caller's project and with ids of ANOTHER project
 * passed under the first project's slug. Each cell states the exact outcome. A procedure or route
 * without a row fails the test, so a new endpoint cannot ship without deciding who may call it.
 *
 * Route handlers are the real route.ts exports: only the request-scoped pieces Next provides (the
 * Auth.js session cookie, the process's database and storage) are pointed at this test's database.
 */
import { createModelVersion, enqueueJob, ensureDataset, ensureInstitution, ensureUser, finishModelVersion } from "@hemaloop/db/queries";
import { addInstitutionMember, addProjectDataset, hasProjectRole, setMembership, type ProjectRole } from "@hemaloop/db/queries";
import type { Db } from "@hemaloop/db/client";
import * as schema from "@hemaloop/db/schema";
import {
  addInstitutionAdmin,
  cancelJob,
  createFieldCell,
  deleteFieldCell,
  disableUser,
  ensureEvaluationSet,
  resetPassword,
  SYSTEM_ACTOR,
} from "@hemaloop/db/services";
import { createLocalStorage, type LocalStorage } from "@hemaloop/db/storage";
import { TRPCError } from "@trpc/server";
import { and, eq, inArray } from "drizzle-orm";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { NextRequest } from "next/server";
import superjson from "superjson";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { createProjectFixture, type ProjectFixture } from "../../../packages/db/test/helpers/project-fixture";
import { createTestDb, describeEachDb, type TestDb } from "../../../packages/db/test/helpers/test-db";
import { resolveSessionState, sessionUserOf } from "../src/server/session-state";
import type { SessionUser } from "../src/server/trpc/init";
import { appRouter, createCaller } from "../src/server/trpc/root";

/** What the mocked request scope hands the route handlers: this suite's database, storage and signed-in user id. */
const scope = vi.hoisted(() => ({ db: null as Db | null, storage: null as LocalStorage | null, userId: null as string | null }));

vi.mock("../src/server/db", () => ({
  getDb: async () => scope.db,
  getDbHandle: async () => ({ db: scope.db }),
}));
vi.mock("../src/server/storage", () => ({ getStorage: () => scope.storage }));
/**
 * auth() reads the session cookie through Next's request scope; here it names the current caller.
 * Auth.js itself (next-auth needs Next's module resolution) answers 299 "handed to Auth.js".
 */
vi.mock("../src/auth", () => ({
  auth: async () => (scope.userId ? { user: { id: scope.userId } } : null),
  handlers: {
    GET: async () => new Response("auth.js", { status: 299 }),
    POST: async () => new Response("auth.js", { status: 299 }),
  },
}));

const roles = [
  "sysadmin",
  "projectAdmin",
  "lead",
  "reviewer",
  "annotator",
  "otherProjectMember",
  "otherInstitutionUser",
  "signedOut",
  "pendingPassword",
] as const;
type Role = (typeof roles)[number];

/** The role each caller holds in project A (system admins act as admin); null = not a member. */
const projectRoleOf: Record<Role, ProjectRole | null> = {
  sysadmin: "admin",
  projectAdmin: "admin",
  lead: "lead",
  reviewer: "reviewer",
  annotator: "annotator",
  otherProjectMember: null,
  otherInstitutionUser: null,
  signedOut: null,
  pendingPassword: "admin",
};

type Outcome = "OK" | TRPCError["code"];

/**
 * Who may call a procedure, as its middleware says: signedIn (even with a one-time password),
 * protected (signed in, password done), sysadmin, creator (system or institution admins; none of the
 * roles here administers an institution), or a project role.
 */
type Gate = "signedIn" | "protected" | "sysadmin" | "creator" | ProjectRole;

type Setup = {
  f: ProjectFixture;
  db: TestDb["db"];
  users: Record<Exclude<Role, "signedOut">, SessionUser>;
  otherImageId: string;
  otherJobId: string;
  jobId: string;
  modelId: string;
  otherModelId: string;
  queueItemId: string;
  otherQueueItemId: string;
  otherInstitutionId: string;
};

type Ctx = Setup & { role: Role; user: SessionUser | null; uniq: () => string };

type Case = {
  input: (c: Ctx) => unknown;
  /** The outcome for a caller who passes the gate (default OK; NOT_FOUND for the cross-project case). */
  allowed?: Outcome;
  /** Exceptions by caller, each a deliberate rule of the domain (see the comment at the row). */
  by?: Partial<Record<Role, Outcome>>;
};

type Row = {
  gate: Gate;
  /** Ids of the caller's project A. */
  own: Case;
  /** Ids of project B passed with project A's slug, or why the procedure takes no id that could belong elsewhere. */
  cross: Case | { none: string };
};

function gateOutcome(gate: Gate, role: Role, allowed: Outcome): Outcome {
  if (role === "signedOut") return "UNAUTHORIZED";
  if (gate === "signedIn") return allowed;
  if (role === "pendingPassword") return "FORBIDDEN";
  if (gate === "protected") return allowed;
  if (gate === "sysadmin" || gate === "creator") return role === "sysadmin" ? allowed : "FORBIDDEN";
  const held = projectRoleOf[role];
  return held && hasProjectRole(held, gate) ? allowed : "FORBIDDEN";
}

const A = (c: Ctx) => ({ projectSlug: c.f.projectSlug });
const box = { geometry: "box" as const, x: 20, y: 30, width: 40, height: 40 };
const noIds = (why: string) => ({ none: why });

/** A field cell drawn on project A's field image, for edits that need a cell of their own. */
async function drawCell(c: Ctx) {
  return createFieldCell(
    c.db,
    { projectId: c.f.projectId, actorId: c.users.sysadmin.id },
    { imageId: c.f.fieldImageId, shape: box, classId: null },
  );
}

/** A user who is a member of project A only for this call (member changes need a fresh one each time). */
async function freshMember(c: Ctx) {
  const u = await ensureUser(c.db, { email: `m-${c.uniq()}@test.local`, name: "member" });
  await setMembership(c.db, { projectId: c.f.projectId, userId: u.id, role: "annotator" });
  return u;
}

async function freshUser(c: Ctx) {
  return ensureUser(c.db, { email: `u-${c.uniq()}@test.local`, name: "someone" });
}

/** A dataset of another institution attached to project B. */
async function otherProjectDataset(c: Ctx) {
  const d = await ensureDataset(c.db, { institutionId: c.otherInstitutionId, name: `b-${c.uniq()}`, schemeKey: "pbc-8" });
  await addProjectDataset(c.db, c.f.otherProjectId, d.id);
  return d;
}

/** Project A with its frozen evaluation set drawn (once; later calls find it). */
async function withEvaluationSet(c: Ctx) {
  await ensureEvaluationSet(c.db, { projectId: c.f.projectId, actorId: c.users.sysadmin.id });
  return A(c);
}

export const procedureTable: Record<string, Row> = {
  "account.me": { gate: "signedIn", own: { input: () => undefined }, cross: noIds("no input") },
  // A wrong current password on purpose: the pending user must stay pending for the rest of the table.
  "account.changePassword": {
    gate: "signedIn",
    own: { input: () => ({ currentPassword: "not-the-password", newPassword: "a-brand-new-password" }), allowed: "BAD_REQUEST" },
    cross: noIds("acts on the caller's own account only"),
  },

  "admin.users.list": { gate: "sysadmin", own: { input: () => ({}) }, cross: noIds("instance-wide") },
  "admin.users.create": {
    gate: "sysadmin",
    own: { input: (c) => ({ email: `new-${c.uniq()}@test.local`, name: "New" }) },
    cross: noIds("instance-wide"),
  },
  "admin.users.disable": {
    gate: "sysadmin",
    own: { input: async (c) => ({ email: (await freshUser(c)).email }) },
    cross: noIds("instance-wide"),
  },
  "admin.users.enable": {
    gate: "sysadmin",
    own: {
      input: async (c) => {
        const u = await freshUser(c);
        await disableUser(c.db, SYSTEM_ACTOR, { email: u.email });
        return { email: u.email };
      },
    },
    cross: noIds("instance-wide"),
  },
  "admin.users.resetPassword": {
    gate: "sysadmin",
    own: { input: async (c) => ({ email: (await freshUser(c)).email }) },
    cross: noIds("instance-wide"),
  },
  "admin.users.setSystemAdmin": {
    gate: "sysadmin",
    own: { input: async (c) => ({ email: (await freshUser(c)).email, isSystemAdmin: true }) },
    cross: noIds("instance-wide"),
  },
  "admin.institutions.list": { gate: "sysadmin", own: { input: () => undefined }, cross: noIds("instance-wide") },
  "admin.institutions.create": { gate: "sysadmin", own: { input: (c) => ({ name: `Inst ${c.uniq()}` }) }, cross: noIds("instance-wide") },
  "admin.institutions.addAdmin": {
    gate: "sysadmin",
    own: {
      input: async (c) => ({
        institutionName: (await ensureInstitution(c.db, `Inst ${c.uniq()}`)).name,
        email: (await freshUser(c)).email,
      }),
    },
    cross: noIds("instance-wide"),
  },
  "admin.institutions.removeAdmin": {
    gate: "sysadmin",
    own: {
      input: async (c) => {
        const inst = await ensureInstitution(c.db, `Inst ${c.uniq()}`);
        const u = await freshUser(c);
        await addInstitutionAdmin(c.db, SYSTEM_ACTOR, { institutionName: inst.name, email: u.email });
        return { institutionName: inst.name, email: u.email };
      },
    },
    cross: noIds("instance-wide"),
  },

  "project.mine": { gate: "protected", own: { input: () => undefined }, cross: noIds("lists the caller's own projects") },
  "project.createOptions": { gate: "protected", own: { input: () => undefined }, cross: noIds("no input") },
  "project.create": {
    gate: "creator",
    own: { input: (c) => ({ slug: `new-${c.uniq()}`, name: "New project", schemeKey: "pbc-8" }) },
    // A system admin may start a project with any dataset; anyone else is refused before datasets are read.
    cross: {
      input: (c) => ({ slug: `new-${c.uniq()}`, name: "New", schemeKey: "pbc-8", datasetIds: [c.f.otherDatasetId] }),
      allowed: "OK",
    },
  },
  "project.get": { gate: "annotator", own: { input: A }, cross: noIds("the project itself is the only id") },
  "project.settings": { gate: "lead", own: { input: A }, cross: noIds("the project itself is the only id") },
  "project.update": {
    gate: "admin",
    own: { input: (c) => ({ ...A(c), name: `Project ${c.uniq()}`, description: null }) },
    cross: noIds("the project itself is the only id"),
  },
  "project.setFineTuneEveryLabels": {
    gate: "lead",
    own: { input: (c) => ({ ...A(c), fineTuneEveryLabels: 250 }) },
    cross: noIds("the project itself is the only id"),
  },
  // Unarchiving an active project: the gate passes, the service says it is already active.
  "project.setArchived": {
    gate: "admin",
    own: { input: (c) => ({ ...A(c), archived: false }), allowed: "CONFLICT" },
    cross: noIds("the project itself is the only id"),
  },
  "project.attachDataset": {
    gate: "lead",
    own: {
      input: async (c) => {
        const inst = await ensureInstitution(c.db, `Sharer ${c.uniq()}`);
        const d = await ensureDataset(c.db, { institutionId: inst.id, name: `shared-${c.uniq()}`, schemeKey: "pbc-8" });
        await c.db.insert(schema.datasetShare).values({ datasetId: d.id, projectId: c.f.projectId, sharedBy: c.users.sysadmin.id });
        return { ...A(c), datasetId: d.id };
      },
    },
    // Another institution's dataset is invisible to project A's leads; system admins may attach any dataset.
    cross: { input: async (c) => ({ ...A(c), datasetId: (await otherProjectDataset(c)).id }), by: { sysadmin: "OK" } },
  },
  "project.detachDataset": {
    gate: "lead",
    own: {
      input: async (c) => {
        const d = await ensureDataset(c.db, { institutionId: c.otherInstitutionId, name: `att-${c.uniq()}`, schemeKey: "pbc-8" });
        await addProjectDataset(c.db, c.f.projectId, d.id);
        return { ...A(c), datasetId: d.id };
      },
    },
    cross: { input: (c) => ({ ...A(c), datasetId: c.f.otherDatasetId }) },
  },
  "project.fields": { gate: "annotator", own: { input: A }, cross: noIds("lists project A's own fields") },

  "dataset.list": { gate: "annotator", own: { input: A }, cross: noIds("lists project A's own datasets") },
  "dataset.administered": { gate: "protected", own: { input: () => undefined }, cross: noIds("no input") },
  // Sharing is the dataset's institution admins' (and system admins'): a dataset the caller sees is
  // FORBIDDEN to share, one they cannot see is NOT_FOUND.
  "dataset.share": {
    gate: "protected",
    own: {
      input: (c) => ({ datasetId: c.f.cropDatasetId, projectSlug: c.f.projectSlug }),
      allowed: "FORBIDDEN",
      by: { sysadmin: "OK", otherProjectMember: "NOT_FOUND", otherInstitutionUser: "NOT_FOUND" },
    },
    cross: {
      input: (c) => ({ datasetId: c.f.otherDatasetId, projectSlug: c.f.projectSlug }),
      allowed: "NOT_FOUND",
      by: { sysadmin: "OK", otherProjectMember: "FORBIDDEN" },
    },
  },
  "dataset.unshare": {
    gate: "protected",
    own: {
      input: (c) => ({ datasetId: c.f.cropDatasetId, projectSlug: c.f.projectSlug }),
      allowed: "FORBIDDEN",
      by: { sysadmin: "OK", otherProjectMember: "NOT_FOUND", otherInstitutionUser: "NOT_FOUND" },
    },
    cross: {
      input: (c) => ({ datasetId: c.f.otherDatasetId, projectSlug: c.f.projectSlug }),
      allowed: "NOT_FOUND",
      by: { sysadmin: "OK", otherProjectMember: "FORBIDDEN" },
    },
  },

  "cell.list": {
    gate: "annotator",
    own: { input: (c) => ({ ...A(c), datasetId: c.f.cropDatasetId }) },
    cross: { input: (c) => ({ ...A(c), datasetId: c.f.otherDatasetId }) },
  },

  "fieldCell.create": {
    gate: "annotator",
    own: { input: (c) => ({ ...A(c), imageId: c.f.fieldImageId, shape: box, classId: null }) },
    cross: { input: (c) => ({ ...A(c), imageId: c.otherImageId, shape: box, classId: null }) },
  },
  "fieldCell.updateShape": {
    gate: "annotator",
    own: { input: async (c) => ({ ...A(c), cellId: (await drawCell(c)).cell.id, expectedVersion: 1, shape: { ...box, x: 25 } }) },
    cross: { input: (c) => ({ ...A(c), cellId: c.f.otherCellId, expectedVersion: 1, shape: box }) },
  },
  "fieldCell.remove": {
    gate: "annotator",
    own: { input: async (c) => ({ ...A(c), cellId: (await drawCell(c)).cell.id, expectedVersion: 1 }) },
    cross: { input: (c) => ({ ...A(c), cellId: c.f.otherCellId, expectedVersion: 1 }) },
  },
  "fieldCell.restore": {
    gate: "annotator",
    own: {
      input: async (c) => {
        const { cell } = await drawCell(c);
        const deleted = await deleteFieldCell(
          c.db,
          { projectId: c.f.projectId, actorId: c.users.sysadmin.id },
          { cellId: cell.id, expectedVersion: 1 },
        );
        return { ...A(c), cellId: cell.id, expectedVersion: deleted.version };
      },
    },
    cross: { input: (c) => ({ ...A(c), cellId: c.f.otherCellId, expectedVersion: 1 }) },
  },
  "fieldCell.setClass": {
    gate: "annotator",
    own: { input: async (c) => ({ ...A(c), cellId: (await drawCell(c)).cell.id, classId: c.f.classIds.ig!, expectedVersion: null }) },
    cross: { input: (c) => ({ ...A(c), cellId: c.f.otherCellId, classId: c.f.classIds.ig!, expectedVersion: null }) },
  },

  "image.get": {
    gate: "annotator",
    own: { input: (c) => ({ ...A(c), imageId: c.f.fieldImageId }) },
    cross: { input: (c) => ({ ...A(c), imageId: c.otherImageId }) },
  },

  // Each reader saves their own first label on the same cell.
  "label.save": {
    gate: "annotator",
    own: { input: (c) => ({ ...A(c), cellId: c.f.cropCellIds[5]!, classId: c.f.classIds.platelet!, expectedVersion: null }) },
    cross: { input: (c) => ({ ...A(c), cellId: c.f.otherCellId, classId: c.f.classIds.platelet!, expectedVersion: null }) },
  },

  "job.list": { gate: "annotator", own: { input: A }, cross: noIds("lists project A's own jobs") },
  "job.get": {
    gate: "annotator",
    own: { input: (c) => ({ ...A(c), jobId: c.jobId }) },
    cross: { input: (c) => ({ ...A(c), jobId: c.otherJobId }) },
  },
  "job.enqueueTrain": { gate: "lead", own: { input: (c) => ({ ...A(c), backbone: "small-cnn" }) }, cross: noIds("takes no id") },
  "job.enqueuePredict": {
    gate: "lead",
    own: { input: (c) => ({ ...A(c), modelVersionId: c.modelId }) },
    cross: { input: (c) => ({ ...A(c), modelVersionId: c.otherModelId }) },
  },
  "job.enqueueLodocv": {
    gate: "lead",
    own: {
      // One LODOCV plan may be active at a time: cancel the previous caller's before each call.
      input: async (c) => {
        const active = await c.db
          .select({ id: schema.job.id })
          .from(schema.job)
          .where(
            and(eq(schema.job.projectId, c.f.projectId), eq(schema.job.type, "lodocv"), inArray(schema.job.status, ["queued", "running"])),
          );
        for (const j of active) await cancelJob(c.db, { projectId: c.f.projectId, actorId: c.users.sysadmin.id }, { jobId: j.id });
        return A(c);
      },
    },
    cross: noIds("takes no id"),
  },
  "job.cancel": {
    gate: "lead",
    own: {
      input: async (c) => ({ ...A(c), jobId: (await enqueueJob(c.db, { type: "train", projectId: c.f.projectId, payload: {} })).id }),
    },
    cross: { input: (c) => ({ ...A(c), jobId: c.otherJobId }) },
  },

  "model.list": { gate: "annotator", own: { input: A }, cross: noIds("lists project A's own models") },
  "model.get": {
    gate: "annotator",
    own: { input: (c) => ({ ...A(c), modelVersionId: c.modelId }) },
    cross: { input: (c) => ({ ...A(c), modelVersionId: c.otherModelId }) },
  },
  "model.publish": {
    gate: "lead",
    own: { input: (c) => ({ ...A(c), modelVersionId: c.modelId }) },
    cross: { input: (c) => ({ ...A(c), modelVersionId: c.otherModelId }) },
  },

  "member.list": { gate: "admin", own: { input: A }, cross: noIds("lists project A's own members") },
  "member.add": {
    gate: "admin",
    own: { input: async (c) => ({ ...A(c), email: (await freshUser(c)).email, role: "annotator" }) },
    cross: noIds("any enabled user may be added by email; there is no id of another project"),
  },
  // A member of project B only is not a member of A: NOT_FOUND, B's membership untouched.
  "member.changeRole": {
    gate: "admin",
    own: { input: async (c) => ({ ...A(c), email: (await freshMember(c)).email, role: "reviewer" }) },
    cross: { input: (c) => ({ ...A(c), email: c.f.users.outsider.email, role: "reviewer" }) },
  },
  "member.remove": {
    gate: "admin",
    own: { input: async (c) => ({ ...A(c), email: (await freshMember(c)).email }) },
    cross: { input: (c) => ({ ...A(c), email: c.f.users.outsider.email }) },
  },

  "review.list": { gate: "annotator", own: { input: A }, cross: noIds("lists project A's own queue") },

  "reading.build": { gate: "lead", own: { input: (c) => ({ ...A(c), kind: "labeling" }) }, cross: noIds("takes no id") },
  "reading.progress": { gate: "annotator", own: { input: (c) => ({ ...A(c), kind: "labeling" }) }, cross: noIds("takes no id") },
  "reading.claim": { gate: "annotator", own: { input: (c) => ({ ...A(c), kind: "labeling", hold: 1 }) }, cross: noIds("takes no id") },
  // Project A's queue item is decided already: the gate passes, the service answers CONFLICT.
  "reading.decide": {
    gate: "annotator",
    own: { input: (c) => ({ ...A(c), itemId: c.queueItemId, decision: { action: "accept" }, expectedVersion: null }), allowed: "CONFLICT" },
    cross: { input: (c) => ({ ...A(c), itemId: c.otherQueueItemId, decision: { action: "accept" }, expectedVersion: null }) },
  },
  // Skipping an item the caller does not hold is CONFLICT, whichever project it is in: nothing changes and nothing is revealed.
  "reading.skip": {
    gate: "annotator",
    own: { input: (c) => ({ ...A(c), itemId: c.queueItemId }), allowed: "CONFLICT" },
    cross: { input: (c) => ({ ...A(c), itemId: c.otherQueueItemId }), allowed: "CONFLICT" },
  },
  // Nothing to undo yet.
  "reading.undo": { gate: "annotator", own: { input: A, allowed: "CONFLICT" }, cross: noIds("takes no id") },
  "reading.heartbeat": { gate: "annotator", own: { input: A }, cross: noIds("takes no id") },
  "reading.doubleReadingPlan": { gate: "lead", own: { input: A }, cross: noIds("takes no id") },
  // Only datasets attached to project A may be double read; project B's dataset is NOT_FOUND and nothing changes.
  "reading.setDoubleReadingPlan": {
    gate: "lead",
    own: { input: (c) => ({ ...A(c), share: 0.1, datasetIds: [] }) },
    cross: { input: (c) => ({ ...A(c), share: 0.1, datasetIds: [c.f.otherDatasetId] }) },
  },
  "reading.claimAdjudication": { gate: "lead", own: { input: (c) => ({ ...A(c), hold: 1 }) }, cross: noIds("takes no id") },
  // Project A's queue item is a review item, not an adjudication: NOT_FOUND for whoever passes the gate, as project B's.
  "reading.adjudicate": {
    gate: "lead",
    own: { input: (c) => ({ ...A(c), itemId: c.queueItemId, classId: c.f.classIds.ig!, expectedVersion: null }), allowed: "NOT_FOUND" },
    cross: { input: (c) => ({ ...A(c), itemId: c.otherQueueItemId, classId: c.f.classIds.ig!, expectedVersion: null }) },
  },
  // A training run of project A is queued first, so every caller who passes the gate gets CONFLICT and no job is added.
  "reading.retrainThenPredict": {
    gate: "lead",
    own: {
      input: async (c) => {
        await enqueueJob(c.db, { type: "train", projectId: c.f.projectId, payload: {} });
        return A(c);
      },
      allowed: "CONFLICT",
    },
    cross: noIds("takes no id"),
  },

  "differential.scopes": { gate: "annotator", own: { input: A }, cross: noIds("lists project A's own smears and fields") },
  // A dataset of project B under project A's slug does not exist for the caller.
  "differential.summary": {
    gate: "annotator",
    own: { input: (c) => ({ ...A(c), datasetId: c.f.cropDatasetId }) },
    cross: { input: (c) => ({ ...A(c), datasetId: c.f.otherDatasetId }) },
  },
  "differential.cells": {
    gate: "annotator",
    own: { input: (c) => ({ ...A(c), datasetId: c.f.cropDatasetId, classId: c.f.classIds.neutrophil! }) },
    cross: { input: (c) => ({ ...A(c), datasetId: c.f.otherDatasetId, classId: c.f.classIds.neutrophil! }) },
  },
  // Each reader's first own label on the cell; a reader who has one already gets it back as a reported conflict (still OK).
  "differential.reclassify": {
    gate: "annotator",
    own: { input: (c) => ({ ...A(c), classId: c.f.classIds.monocyte!, cells: [{ cellId: c.f.cropCellIds[4]!, expectedVersion: null }] }) },
    cross: { input: (c) => ({ ...A(c), classId: c.f.classIds.monocyte!, cells: [{ cellId: c.f.otherCellId, expectedVersion: null }] }) },
  },
  "differential.exportCsv": {
    gate: "annotator",
    own: { input: (c) => ({ ...A(c), datasetId: c.f.cropDatasetId }) },
    cross: { input: (c) => ({ ...A(c), datasetId: c.f.otherDatasetId }) },
  },

  // Leads and admins only: annotators and reviewers never see colleagues' agreement scores.
  "agreement.summary": {
    gate: "lead",
    own: { input: (c) => ({ ...A(c), datasetId: c.f.cropDatasetId }) },
    // Another project's dataset is NOT_FOUND under project A, for system admins too.
    cross: { input: async (c) => ({ ...A(c), datasetId: (await otherProjectDataset(c)).id }) },
  },
  "evaluationSet.summary": { gate: "annotator", own: { input: A }, cross: noIds("takes no id") },
  // Project A's set is drawn before each call: a second draw, and an extension to the share it already holds, are CONFLICT.
  "evaluationSet.draw": {
    gate: "lead",
    own: { input: async (c) => ({ ...(await withEvaluationSet(c)), fraction: 0.2 }), allowed: "CONFLICT" },
    cross: noIds("takes no id"),
  },
  "evaluationSet.extend": {
    gate: "lead",
    own: { input: async (c) => ({ ...(await withEvaluationSet(c)), fraction: 0.2 }), allowed: "CONFLICT" },
    cross: noIds("takes no id"),
  },

  // A round job of project A is queued first, so every caller who passes the gate gets CONFLICT and no round is added.
  "alRound.start": {
    gate: "lead",
    own: {
      input: async (c) => {
        await enqueueJob(c.db, { type: "round", projectId: c.f.projectId, payload: {} });
        return { ...A(c), strategy: "entropy", batchSize: 10 };
      },
      allowed: "CONFLICT",
    },
    cross: noIds("takes no id"),
  },
  "alRound.list": { gate: "lead", own: { input: A }, cross: noIds("lists project A's own rounds") },
  "alRound.compare": {
    gate: "lead",
    own: { input: (c) => ({ ...A(c), a: c.modelId, b: c.modelId }) },
    cross: { input: (c) => ({ ...A(c), a: c.modelId, b: c.otherModelId }) },
  },
};

/** Whether a caller gets past the procedure's middleware (the service may still refuse). */
function passesGate(gate: Gate, role: Role): boolean {
  return gateOutcome(gate, role, "OK") === "OK";
}

function expected(row: Row, which: "own" | "cross", role: Role): Outcome {
  const c = row[which] as Case;
  const passed = c.allowed ?? (which === "own" ? "OK" : "NOT_FOUND");
  return passesGate(row.gate, role) ? (c.by?.[role] ?? passed) : gateOutcome(row.gate, role, passed);
}

async function outcomeOf(promise: Promise<unknown>): Promise<Outcome> {
  try {
    await promise;
    return "OK";
  } catch (error) {
    if (error instanceof TRPCError) return error.code;
    throw error;
  }
}

type Handler = (request: Request, context: { params: Promise<Record<string, string | string[]>> }) => Promise<Response>;
type RouteCase = {
  request: (c: Ctx) => Request | Promise<Request>;
  params: (c: Ctx) => Record<string, string | string[]>;
  status: Partial<Record<Role, number>>;
};
type RouteRow = { own: RouteCase; cross: RouteCase | { none: string } };

/** Every role's status, spelled out (no defaults: an HTTP route has its own rules). */
const statuses = (s: Record<Role, number>) => s;
const everyone = (status: number) => statuses(Object.fromEntries(roles.map((r) => [r, status])) as Record<Role, number>);

const uploadForm = (datasetId: string) => {
  const form = new FormData();
  form.append("targetKind", "existing");
  form.append("datasetId", datasetId);
  form.append("files", new Blob([new Uint8Array([0xff, 0xd8, 0xff, 0xd9])]), "cell.jpg");
  return form;
};
const trpcPost = (procedure: string, input: unknown) =>
  new Request(`http://localhost/api/trpc/${procedure}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(superjson.serialize(input)),
  });

export const routeTable: Record<string, RouteRow> = {
  "GET /api/files/[...key]": {
    own: {
      request: (c) => new Request(`http://localhost/api/files/${c.f.keys.thumb}`),
      params: (c) => ({ key: c.f.keys.thumb.split("/") }),
      status: statuses({
        sysadmin: 200,
        projectAdmin: 200,
        lead: 200,
        reviewer: 200,
        annotator: 200,
        otherProjectMember: 404,
        otherInstitutionUser: 404,
        signedOut: 401,
        pendingPassword: 401,
      }),
    },
    // A thumbnail of project B's private dataset: B's member sees it, project A's members do not.
    cross: {
      request: (c) => new Request(`http://localhost/api/files/${c.f.keys.otherThumb}`),
      params: (c) => ({ key: c.f.keys.otherThumb.split("/") }),
      status: statuses({
        sysadmin: 200,
        projectAdmin: 404,
        lead: 404,
        reviewer: 404,
        annotator: 404,
        otherProjectMember: 200,
        otherInstitutionUser: 404,
        signedOut: 401,
        pendingPassword: 401,
      }),
    },
  },
  "GET /api/projects/[slug]/export": {
    own: {
      request: () => new Request("http://localhost/api/projects/x/export?format=coco&labels=imported"),
      params: (c) => ({ slug: c.f.projectSlug }),
      status: statuses({
        sysadmin: 200,
        projectAdmin: 200,
        lead: 200,
        reviewer: 403,
        annotator: 403,
        otherProjectMember: 404,
        otherInstitutionUser: 404,
        signedOut: 401,
        pendingPassword: 401,
      }),
    },
    cross: { none: "the slug is the only id (a reader id of another project is covered in downloads.test.ts)" },
  },
  "GET /api/projects/[slug]/models/[id]/download": {
    own: {
      request: () => new Request("http://localhost/api/projects/x/models/y/download"),
      params: (c) => ({ slug: c.f.projectSlug, id: c.modelId }),
      status: statuses({
        sysadmin: 200,
        projectAdmin: 200,
        lead: 200,
        reviewer: 200,
        annotator: 200,
        otherProjectMember: 404,
        otherInstitutionUser: 404,
        signedOut: 401,
        pendingPassword: 401,
      }),
    },
    cross: {
      request: () => new Request("http://localhost/api/projects/x/models/y/download"),
      params: (c) => ({ slug: c.f.projectSlug, id: c.otherModelId }),
      status: statuses({
        sysadmin: 404,
        projectAdmin: 404,
        lead: 404,
        reviewer: 404,
        annotator: 404,
        otherProjectMember: 404,
        otherInstitutionUser: 404,
        signedOut: 401,
        pendingPassword: 401,
      }),
    },
  },
  "POST /api/projects/[slug]/uploads": {
    own: {
      request: (c) => new Request("http://localhost/api/projects/x/uploads", { method: "POST", body: uploadForm(c.f.cropDatasetId) }),
      params: (c) => ({ slug: c.f.projectSlug }),
      status: statuses({
        sysadmin: 201,
        projectAdmin: 201,
        lead: 201,
        reviewer: 403,
        annotator: 403,
        otherProjectMember: 404,
        otherInstitutionUser: 404,
        signedOut: 401,
        pendingPassword: 401,
      }),
    },
    // Importing into project B's dataset through project A.
    cross: {
      request: (c) => new Request("http://localhost/api/projects/x/uploads", { method: "POST", body: uploadForm(c.f.otherDatasetId) }),
      params: (c) => ({ slug: c.f.projectSlug }),
      status: statuses({
        sysadmin: 404,
        projectAdmin: 404,
        lead: 404,
        reviewer: 403,
        annotator: 403,
        otherProjectMember: 404,
        otherInstitutionUser: 404,
        signedOut: 401,
        pendingPassword: 401,
      }),
    },
  },
  // The tRPC endpoint itself: the session decides the caller (each procedure's rules are the table above).
  "POST /api/trpc/[trpc]": {
    own: {
      request: (c) => trpcPost("job.enqueueTrain", { projectSlug: c.f.projectSlug }),
      params: () => ({ trpc: "job.enqueueTrain" }),
      status: statuses({
        sysadmin: 200,
        projectAdmin: 200,
        lead: 200,
        reviewer: 403,
        annotator: 403,
        otherProjectMember: 403,
        otherInstitutionUser: 403,
        signedOut: 401,
        pendingPassword: 403,
      }),
    },
    cross: {
      request: (c) => trpcPost("job.cancel", { projectSlug: c.f.projectSlug, jobId: c.otherJobId }),
      params: () => ({ trpc: "job.cancel" }),
      status: statuses({
        sysadmin: 404,
        projectAdmin: 404,
        lead: 404,
        reviewer: 403,
        annotator: 403,
        otherProjectMember: 403,
        otherInstitutionUser: 403,
        signedOut: 401,
        pendingPassword: 403,
      }),
    },
  },
  "GET /api/trpc/[trpc]": {
    own: {
      request: (c) =>
        new Request(
          `http://localhost/api/trpc/project.get?input=${encodeURIComponent(JSON.stringify(superjson.serialize({ projectSlug: c.f.projectSlug })))}`,
        ),
      params: () => ({ trpc: "project.get" }),
      status: statuses({
        sysadmin: 200,
        projectAdmin: 200,
        lead: 200,
        reviewer: 200,
        annotator: 200,
        otherProjectMember: 403,
        otherInstitutionUser: 403,
        signedOut: 401,
        pendingPassword: 403,
      }),
    },
    cross: { none: "covered per procedure in the procedure table" },
  },
  // Auth.js endpoints are public by design (signing in is how one stops being signed out): every caller
  // is handed to Auth.js (299, see the mock above); credential posts pass the sign-in limiter first.
  "GET /api/auth/[...nextauth]": {
    own: {
      request: () => new NextRequest("http://localhost/api/auth/providers"),
      params: () => ({ nextauth: ["providers"] }),
      status: everyone(299),
    },
    cross: { none: "no project data" },
  },
  "POST /api/auth/[...nextauth]": {
    own: {
      request: (c) =>
        new NextRequest("http://localhost/api/auth/callback/credentials", {
          method: "POST",
          body: new URLSearchParams({ email: c.user?.email ?? "nobody@test.local", password: "wrong" }),
        }),
      params: () => ({ nextauth: ["callback", "credentials"] }),
      status: everyone(299),
    },
    cross: { none: "no project data" },
  },
};

const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] as const;
const apiDir = path.join(import.meta.dirname, "../src/app/api");

/** Every route.ts under app/api with its exported HTTP methods, as "METHOD /api/<path>". */
async function discoverRoutes(): Promise<Map<string, Handler>> {
  const files = (await readdir(apiDir, { recursive: true })).filter((f) => f === "route.ts" || f.endsWith(`${path.sep}route.ts`));
  const routes = new Map<string, Handler>();
  for (const file of files) {
    const mod = (await import(/* @vite-ignore */ path.join(apiDir, file))) as Record<string, unknown>;
    const route = `/api/${path.dirname(file).split(path.sep).join("/")}`;
    for (const method of HTTP_METHODS) {
      if (typeof mod[method] === "function") routes.set(`${method} ${route}`, mod[method] as Handler);
    }
  }
  return routes;
}

it("has a row for every tRPC procedure and every route handler", async () => {
  const procedures = Object.keys(appRouter._def.procedures).sort();
  expect(procedures.length).toBeGreaterThan(40);
  expect(Object.keys(procedureTable).sort()).toEqual(procedures);
  const routes = [...(await discoverRoutes()).keys()].sort();
  expect(routes.length).toBeGreaterThanOrEqual(6);
  expect(Object.keys(routeTable).sort()).toEqual(routes);
});

describeEachDb("authorization table", (kind) => {
  let t: TestDb;
  let tmp: string;
  let storage: LocalStorage;
  let setup: Setup;
  let seq = 0;
  const uniq = () => `${kind}-${++seq}-${randomBytes(2).toString("hex")}`;
  const ctxFor = (role: Role): Ctx => ({ ...setup, role, user: role === "signedOut" ? null : setup.users[role], uniq });

  beforeAll(async () => {
    t = await createTestDb(kind);
    tmp = await mkdtemp(path.join(os.tmpdir(), "hemaloop-authz-"));
    storage = createLocalStorage(tmp);
    const f = await createProjectFixture(t.db);
    const db = t.db;
    scope.db = db;
    scope.storage = storage;
    // The process's sign-in limiter is bound to the database it first saw (the other engine's suite).
    delete (globalThis as { __hemaloopSignInLimiter?: unknown }).__hemaloopSignInLimiter;

    const tag = randomBytes(3).toString("hex");
    const elsewhere = await ensureInstitution(db, `Elsewhere ${tag}`);
    const otherInstitutionUser = await ensureUser(db, {
      email: `elsewhere-${tag}@test.local`,
      name: "elsewhere",
      password: "elsewhere-pw",
    });
    await addInstitutionMember(db, { institutionId: elsewhere.id, userId: otherInstitutionUser.id, role: "member" });
    // An admin of project A who has not replaced a generated one-time password yet.
    const pending = await ensureUser(db, { email: `pending-${tag}@test.local`, name: "pending", password: "pending-pw-123456" });
    await setMembership(db, { projectId: f.projectId, userId: pending.id, role: "admin" });
    await resetPassword(db, SYSTEM_ACTOR, { email: pending.email });

    const [otherCell] = await db.select().from(schema.cell).where(eq(schema.cell.id, f.otherCellId));
    const [otherDataset] = await db.select().from(schema.dataset).where(eq(schema.dataset.id, f.otherDatasetId));
    const jobId = (await enqueueJob(db, { type: "train", projectId: f.projectId, payload: {} })).id;
    const otherJobId = (await enqueueJob(db, { type: "train", projectId: f.otherProjectId, payload: {} })).id;

    const readyModel = async (projectId: string, name: string) => {
      const mv = await createModelVersion(db, { projectId, schemeId: f.schemeId, name, backbone: "small-cnn", hyperParameters: {} });
      const prefix = `models/${mv.id}/`;
      await storage.put(`${prefix}model.onnx`, Buffer.from("onnx"));
      await storage.put(`${prefix}config.json`, Buffer.from("{}"));
      await finishModelVersion(db, {
        id: mv.id,
        metrics: { accuracy: 0.9 },
        artifactKey: prefix,
        onnxKey: `${prefix}model.onnx`,
        collapseReasons: [],
      });
      return mv.id;
    };
    await storage.put(f.keys.thumb, Buffer.from("thumb-a"));
    await storage.put(f.keys.otherThumb, Buffer.from("thumb-b"));

    // One queue item per project, already decided.
    const queueItem = async (projectId: string, cellId: string) => {
      const [item] = await db
        .insert(schema.reviewQueueItem)
        .values({ projectId, cellId, kind: "labeling", status: "done", priority: 0, strategy: "random", resolvedAt: new Date() })
        .returning();
      return item!.id;
    };

    const toSession = async (id: string) => sessionUserOf(await resolveSessionState(db, id))!;
    setup = {
      f,
      db,
      users: {
        sysadmin: await toSession(f.users.sysadmin.id),
        projectAdmin: await toSession(f.users.admin.id),
        lead: await toSession(f.users.lead.id),
        reviewer: await toSession(f.users.reviewer.id),
        annotator: await toSession(f.users.annotator.id),
        otherProjectMember: await toSession(f.users.outsider.id),
        otherInstitutionUser: await toSession(otherInstitutionUser.id),
        pendingPassword: await toSession(pending.id),
      },
      otherImageId: otherCell!.imageId,
      otherInstitutionId: otherDataset!.institutionId,
      jobId,
      otherJobId,
      modelId: await readyModel(f.projectId, "a-model"),
      otherModelId: await readyModel(f.otherProjectId, "b-model"),
      queueItemId: await queueItem(f.projectId, f.cropCellIds[0]!),
      otherQueueItemId: await queueItem(f.otherProjectId, f.otherCellId),
    };
    expect(setup.users.pendingPassword.passwordChangeRequired).toBe(true);
  });
  afterAll(async () => {
    await t?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("every procedure answers every caller as the table says", async () => {
    const callers = new Map(roles.map((role) => [role, createCaller({ db: t.db, user: ctxFor(role).user })]));
    const mismatches: string[] = [];
    for (const [procedure, row] of Object.entries(procedureTable)) {
      for (const which of ["own", "cross"] as const) {
        const c = row[which];
        if ("none" in c) continue;
        for (const role of roles) {
          const input = await c.input(ctxFor(role));
          const fn = procedure.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], callers.get(role)) as (
            i: unknown,
          ) => Promise<unknown>;
          const got = await outcomeOf(fn(input));
          const want = expected(row, which, role);
          if (got !== want) mismatches.push(`${procedure} [${which}] as ${role}: expected ${want}, got ${got}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it("every route handler answers every caller as the table says", async () => {
    const routes = await discoverRoutes();
    const mismatches: string[] = [];
    for (const [route, row] of Object.entries(routeTable)) {
      const handler = routes.get(route)!;
      for (const which of ["own", "cross"] as const) {
        const c = row[which];
        if ("none" in c) continue;
        for (const role of roles) {
          const ctx = ctxFor(role);
          scope.userId = ctx.user?.id ?? null;
          const res = await handler(await c.request(ctx), { params: Promise.resolve(c.params(ctx)) });
          await res.arrayBuffer(); // drain: cancelling a Readable.toWeb stream trips a Node bug
          if (res.status !== c.status[role])
            mismatches.push(`${route} [${which}] as ${role}: expected ${c.status[role]}, got ${res.status}`);
        }
      }
    }
    scope.userId = null;
    expect(mismatches).toEqual([]);
  });
});
