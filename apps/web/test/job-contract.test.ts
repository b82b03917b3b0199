import { JOB_DEFAULTS, lodocvPayloadSchema, trainPayloadSchema } from "@hemaloop/ml/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProjectFixture, type ProjectFixture } from "../../../packages/db/test/helpers/project-fixture";
import { createTestDb, describeEachDb, type TestDb } from "../../../packages/db/test/helpers/test-db";
import { lodocvJobInput, trainJobInput } from "../src/server/trpc/routers/job";
import { createCaller } from "../src/server/trpc/root";

// The trainer parses job payloads with these same contract schemas (apps/trainer/src/handlers).
describeEachDb("job payloads: what the web enqueues the trainer accepts", (kind) => {
  let t: TestDb;
  let f: ProjectFixture;
  beforeAll(async () => {
    t = await createTestDb(kind);
    f = await createProjectFixture(t.db);
  });
  afterAll(async () => t.close());

  it("a default train job parses with the trainer's schema and trains the one default backbone", async () => {
    const lead = createCaller({ db: t.db, user: f.users.lead });
    const job = await lead.job.enqueueTrain({ projectId: f.projectId });
    const parsed = trainPayloadSchema.parse(job.payload);
    expect(job.payload).toMatchObject({ backbone: JOB_DEFAULTS.backbone, inputSize: JOB_DEFAULTS.inputSize });
    expect(parsed.backbone).toBe(trainPayloadSchema.parse({}).backbone);
  });

  it("recipe options from the form reach the payload the trainer parses; absent ones are the product defaults", async () => {
    const lead = createCaller({ db: t.db, user: f.users.lead });
    const preprocess = { cellCentre: true, cellFraction: 0.5, colour: "reinhard" as const };
    const augment = { zoom: [0.8, 1.25] as [number, number], colourJitter: 0.2 };
    const train = trainPayloadSchema.parse((await lead.job.enqueueTrain({ projectId: f.projectId, preprocess, augment })).payload);
    expect(train).toMatchObject({ preprocess, augment });
    const plain = trainPayloadSchema.parse((await lead.job.enqueueTrain({ projectId: f.projectId })).payload);
    expect(plain.preprocess).toEqual({ cellCentre: false, cellFraction: JOB_DEFAULTS.cellFraction, colour: "none" });
    expect(plain.augment).toEqual({ colourJitter: JOB_DEFAULTS.colourJitter });
  });

  it("a LODOCV plan records adaptation off when asked and passes the recipe options", async () => {
    const lead = createCaller({ db: t.db, user: f.users.lead });
    const job = await lead.job.enqueueLodocv({
      projectId: f.projectId,
      adapt: false,
      preprocess: { cellCentre: true, cellFraction: 0.6, colour: "none" },
    });
    expect(lodocvPayloadSchema.parse(job.payload)).toMatchObject({ role: "plan", adapt: false, preprocess: { cellCentre: true } });
    await lead.job.cancel({ projectId: f.projectId, jobId: job.id });
  });

  it("a default LODOCV plan parses with the trainer's schema as a plan", async () => {
    const lead = createCaller({ db: t.db, user: f.users.lead });
    const job = await lead.job.enqueueLodocv({ projectId: f.projectId });
    const parsed = lodocvPayloadSchema.parse(job.payload);
    expect(parsed).toMatchObject({
      role: "plan",
      backbone: JOB_DEFAULTS.backbone,
      timeBudgetMinutes: JOB_DEFAULTS.lodocvTimeBudgetMinutes,
      adapt: true,
    });
  });
});

describe("job payloads: the web refuses what the trainer refuses", () => {
  const settings = [{ backbone: "vgg16" }, { inputSize: 16 }, { inputSize: 300 }, { inputSize: 64.5 }, { epochs: 0 }, { epochs: 501 }];
  it.each(settings)("train %o", (bad) => {
    expect(trainPayloadSchema.safeParse(bad).success).toBe(false);
    expect(trainJobInput.safeParse(bad).success).toBe(false);
  });
  it.each([...settings, { timeBudgetMinutes: 0 }, { timeBudgetMinutes: 24 * 60 + 1 }])("lodocv %o", (bad) => {
    expect(lodocvPayloadSchema.safeParse({ role: "plan", ...bad }).success).toBe(false);
    expect(lodocvJobInput.safeParse(bad).success).toBe(false);
  });
  it.each([
    { preprocess: { cellCentre: true, cellFraction: 0 } },
    { preprocess: { cellFraction: 1.5 } },
    { preprocess: { colour: "macenko" } },
    { augment: { zoom: [1.2, 0.8] } },
    { augment: { colourJitter: 1 } },
  ])("recipe options %o", (bad) => {
    expect(trainPayloadSchema.safeParse(bad).success).toBe(false);
    expect(trainJobInput.safeParse(bad).success).toBe(false);
    expect(lodocvJobInput.safeParse(bad).success).toBe(false);
  });
  it.each([
    { backbone: "small-cnn", inputSize: 32, epochs: 1 },
    { backbone: "resnet", inputSize: 224, epochs: 500 },
  ])("both accept %o", (good) => {
    expect(trainPayloadSchema.safeParse(good).success).toBe(true);
    expect(trainJobInput.safeParse(good).success).toBe(true);
    expect(lodocvJobInput.safeParse(good).success).toBe(true);
  });
});
