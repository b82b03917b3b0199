import { describe, expect, it } from "vitest";
import { loadTrainerConfig } from "../src/env";
import { createJobHandlers } from "../src/handlers";

const base = { HEMALOOP_DATA_DIR: "/tmp/hemaloop-job-types-test" };

describe("TRAINER_JOB_TYPES", () => {
  it("unset: the trainer claims every job type it has a handler for", () => {
    const config = loadTrainerConfig(base);
    expect(config.jobTypes).toBeUndefined();
    expect(Object.keys(createJobHandlers(config)).sort()).toEqual(["import", "lodocv", "predict", "round", "train"]);
  });

  it("limits the handlers (and so the claimed types) to the listed ones", () => {
    const config = loadTrainerConfig({ ...base, TRAINER_JOB_TYPES: " import , predict" });
    expect(config.jobTypes).toEqual(["import", "predict"]);
    expect(Object.keys(createJobHandlers(config)).sort()).toEqual(["import", "predict"]);
  });

  it("refuses unknown types, an empty list and types without a handler", () => {
    expect(() => loadTrainerConfig({ ...base, TRAINER_JOB_TYPES: "import,bake" })).toThrow(/TRAINER_JOB_TYPES/);
    expect(() => loadTrainerConfig({ ...base, TRAINER_JOB_TYPES: " , " })).toThrow(/lists no job type/);
    const config = loadTrainerConfig({ ...base, TRAINER_JOB_TYPES: "evaluate" });
    expect(() => createJobHandlers(config)).toThrow(/no handler for evaluate/);
  });
});
