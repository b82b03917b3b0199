import { createModelVersion, finishModelVersion, saveEvaluation } from "@hemaloop/db/queries";
import { createLocalStorage, type LocalStorage } from "@hemaloop/db/storage";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createProjectFixture, type ProjectFixture } from "../../../packages/db/test/helpers/project-fixture";
import { createTestDb, describeEachDb, type TestDb } from "../../../packages/db/test/helpers/test-db";
import { readZip } from "../../../packages/db/test/helpers/unzip";
import { handleModelDownload, handleProjectExport, type DownloadDeps } from "../src/server/downloads";

describeEachDb("download routes: project export and model zip", (kind) => {
  let t: TestDb;
  let f: ProjectFixture;
  let tmp: string;
  let storage: LocalStorage;
  let modelId: string;
  const deps = (user: ProjectFixture["users"][keyof ProjectFixture["users"]] | null): DownloadDeps => ({ db: t.db, storage, user });
  const exportUrl = (query: string) => new URL(`http://localhost/api/projects/x/export?${query}`);

  beforeAll(async () => {
    t = await createTestDb(kind);
    f = await createProjectFixture(t.db);
    tmp = await mkdtemp(path.join(os.tmpdir(), "hemaloop-downloads-"));
    storage = createLocalStorage(tmp);
    const mv = await createModelVersion(t.db, {
      projectId: f.projectId,
      schemeId: f.schemeId,
      name: "round 1",
      backbone: "mobilenet",
      hyperParameters: {},
    });
    const prefix = `models/${mv.id}/`;
    await storage.put(`${prefix}model.onnx`, Buffer.from("onnx-bytes"));
    await storage.put(`${prefix}tfjs/model.json`, Buffer.from('{"format":"layers-model"}'));
    await storage.put(`${prefix}tfjs/group1-shard1of1.bin`, Buffer.from([1, 2, 3]));
    await storage.put(`${prefix}config.json`, Buffer.from('{"inputSize":224}'));
    await finishModelVersion(t.db, {
      id: mv.id,
      metrics: { accuracy: 0.9 },
      artifactKey: prefix,
      onnxKey: `${prefix}model.onnx`,
      collapseReasons: [],
    });
    await saveEvaluation(t.db, {
      modelVersionId: mv.id,
      datasetId: f.cropDatasetId,
      jobId: null,
      schemeId: f.schemeId,
      metrics: { macroF1: 0.8 },
    });
    modelId = mv.id;
  });
  afterAll(async () => {
    await t?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it("export: a lead gets a streamed COCO file with a download name; the export is audited", async () => {
    const res = await handleProjectExport(deps(f.users.lead), f.projectSlug, exportUrl("format=coco&labels=imported"));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="${f.projectSlug}-imported.coco.json"`);
    const coco = (await res.json()) as { annotations: unknown[]; categories: Array<{ name: string }> };
    expect(coco.annotations.length).toBeGreaterThan(0);
    expect(coco.categories.map((c) => c.name)).toContain("neutrophil");

    const mapped = await handleProjectExport(deps(f.users.admin), f.projectSlug, exportUrl("format=coco&labels=consensus&scheme=wbc-5"));
    expect(mapped.status).toBe(200);
    expect(((await mapped.json()) as { categories: unknown[] }).categories).toHaveLength(5);
  });

  it("export: annotator and reviewer 403, non-member and unknown project 404, signed out 401", async () => {
    const url = exportUrl("format=coco&labels=imported");
    expect((await handleProjectExport(deps(f.users.annotator), f.projectSlug, url)).status).toBe(403);
    expect((await handleProjectExport(deps(f.users.reviewer), f.projectSlug, url)).status).toBe(403);
    expect((await handleProjectExport(deps(f.users.outsider), f.projectSlug, url)).status).toBe(404);
    expect((await handleProjectExport(deps(f.users.instMember), f.projectSlug, url)).status).toBe(404);
    expect((await handleProjectExport(deps(f.users.lead), "no-such-project", url)).status).toBe(404);
    expect((await handleProjectExport(deps(null), f.projectSlug, url)).status).toBe(401);
    expect((await handleProjectExport(deps(f.users.sysadmin), f.projectSlug, url)).status).toBe(200);
  });

  it("export: bad queries are 400/404 with a reason, never internal text", async () => {
    const lead = deps(f.users.lead);
    expect((await handleProjectExport(lead, f.projectSlug, exportUrl("format=yolo&labels=imported"))).status).toBe(400);
    expect((await handleProjectExport(lead, f.projectSlug, exportUrl("format=coco&labels=everyone"))).status).toBe(400);
    const unknownScheme = await handleProjectExport(lead, f.projectSlug, exportUrl("format=coco&labels=imported&scheme=nope"));
    expect(unknownScheme.status).toBe(404);
    // A reader outside the project is unknown here, whoever they are.
    const outsider = await handleProjectExport(lead, f.projectSlug, exportUrl(`format=coco&labels=reader:${f.users.outsider.id}`));
    expect(outsider.status).toBe(404);
    const member = await handleProjectExport(lead, f.projectSlug, exportUrl(`format=coco&labels=reader:${f.users.annotator.id}`));
    expect(member.status).toBe(200);
  });

  it("model download: any member gets the zip (ONNX, tfjs, config, evaluation report); others do not", async () => {
    const res = await handleModelDownload(deps(f.users.annotator), f.projectSlug, modelId);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/zip");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="round-1-[0-9a-f]{8}\.zip"$/);
    const files = await readZip(Buffer.from(await res.arrayBuffer()));
    expect([...files.keys()].sort()).toEqual([
      "config.json",
      "evaluation.json",
      "model.onnx",
      "tfjs/group1-shard1of1.bin",
      "tfjs/model.json",
    ]);
    expect(files.get("model.onnx")!.toString()).toBe("onnx-bytes");
    const report = JSON.parse(files.get("evaluation.json")!.toString("utf8")) as {
      metrics: unknown;
      evaluations: Array<{ metrics: unknown }>;
    };
    expect(report.metrics).toEqual({ accuracy: 0.9 });
    expect(report.evaluations.map((e) => e.metrics)).toEqual([{ macroF1: 0.8 }]);

    expect((await handleModelDownload(deps(f.users.outsider), f.projectSlug, modelId)).status).toBe(404);
    expect((await handleModelDownload(deps(null), f.projectSlug, modelId)).status).toBe(401);
    // The version must belong to the project in the URL.
    expect((await handleModelDownload(deps(f.users.outsider), f.otherProjectSlug, modelId)).status).toBe(404);
    expect((await handleModelDownload(deps(f.users.lead), f.projectSlug, "not-a-uuid")).status).toBe(404);
  });
});
