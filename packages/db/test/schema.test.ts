import { count, eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { getSchemeByKey, getSchemeMapping, listSchemes } from "../src/queries/schemes";
import { cellClass, classScheme, schemeMappingEntry } from "../src/schema";
import { seedBuiltInSchemes } from "../src/seed/seed-schemes";
import { createTestDb, describeEachDb, type TestDb } from "./helpers/test-db";

describeEachDb("migrations and built-in schemes", (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(kind);
  });
  afterAll(async () => {
    await t.close();
  });

  it("seeds the six schemes with the class keys DESIGN.md lists", async () => {
    const schemes = await listSchemes(t.db);
    const byKey = Object.fromEntries(schemes.map((s) => [s.key, s.classes.map((c) => c.key)]));
    expect(Object.keys(byKey).sort()).toEqual(["aml-15", "binary-malignant", "binary-typical", "lymphoid-4", "pbc-8", "wbc-5"].sort());
    expect(byKey["pbc-8"]).toEqual(["basophil", "eosinophil", "erythroblast", "ig", "lymphocyte", "monocyte", "neutrophil", "platelet"]);
    expect(byKey["aml-15"]).toHaveLength(15);
    expect(byKey["lymphoid-4"]).toEqual(["normal_lymphocyte", "reactive_lymphocyte", "abnormal_lymphocyte", "blast"]);
    const pbc = await getSchemeByKey(t.db, "pbc-8");
    expect(new Set(pbc.classes.map((c) => c.shortcut)).size).toBe(8);
    expect(pbc.classes.every((c) => /^#[0-9A-F]{6}$/i.test(c.color))).toBe(true);
  });

  it("maps aml-15 atypical classes exactly and leaves unmatched pbc-8 classes out of wbc-5", async () => {
    const aml = await getSchemeMapping(t.db, "aml-15", "binary-typical");
    const atypical = Object.entries(aml)
      .filter(([, v]) => v === "atypical")
      .map(([k]) => k)
      .sort();
    expect(atypical).toEqual(["EBO", "LYA", "MMZ", "MOB", "MYB", "MYO", "PMB", "PMO"]);
    const pbc = await getSchemeMapping(t.db, "pbc-8", "wbc-5");
    expect(pbc.ig).toBeNull();
    expect(pbc.platelet).toBeNull();
    expect(pbc.neutrophil).toBe("neutrophil");
    const lym = await getSchemeMapping(t.db, "lymphoid-4", "binary-malignant");
    expect(lym).toEqual({
      normal_lymphocyte: "benign",
      reactive_lymphocyte: "benign",
      abnormal_lymphocyte: "malignant",
      blast: "malignant",
    });
    const amlWbc = await getSchemeMapping(t.db, "aml-15", "wbc-5");
    expect(amlWbc.NGS).toBe("neutrophil");
    expect(amlWbc.MYO).toBeNull();
  });

  it("seeding twice adds nothing", async () => {
    const countAll = async () => [
      (await t.db.select({ n: count() }).from(classScheme))[0]!.n,
      (await t.db.select({ n: count() }).from(cellClass))[0]!.n,
      (await t.db.select({ n: count() }).from(schemeMappingEntry))[0]!.n,
    ];
    const before = await countAll();
    await seedBuiltInSchemes(t.db);
    expect(await countAll()).toEqual(before);
    expect(before).toEqual([6, 2 + 2 + 4 + 8 + 15 + 5, 15 + 4 + 8 + 15]);
    const [wbc] = await t.db.select().from(classScheme).where(eq(classScheme.key, "wbc-5"));
    expect(wbc?.builtIn).toBe(true);
  });
});
