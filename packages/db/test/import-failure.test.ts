import { count, eq, like, sql } from "drizzle-orm";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { importImages, type ImportOptions } from "../src/import";
import { createGroupWriter } from "../src/import/group-writer";
import type { ImageRowsInput } from "../src/import/insert-image-rows";
import { getSchemeByKey } from "../src/queries/schemes";
import { cell, dataset, image, label, labelHistory } from "../src/schema";
import { createLocalStorage, type LocalStorage } from "../src/storage";
import { copyInto, demoFixtureDir, hashesInStorage, listFiles, pbcCrop, sha256Of, writeInto } from "./fixtures/import-test-files";
import { createTestDb, describeEachDb, type TestDb } from "./helpers/test-db";

// Real database failures, planted with triggers: the last insert of an image's transaction
// (label_history) fails for crops named *boom-history*, the cell insert for fields named *boom-cell*.
const plantFailures = `
  create function hemaloop_test_fail_history() returns trigger language plpgsql as $$
  begin
    if exists (select 1 from label l join cell c on c.id = l.cell_id join image i on i.id = c.image_id
               where l.id = new.label_id and i.original_name like '%boom-history%') then
      raise exception 'planted failure (label history)';
    end if;
    return new;
  end $$;
  create trigger hemaloop_test_fail_history before insert on label_history
    for each row execute function hemaloop_test_fail_history();
  create function hemaloop_test_fail_cell() returns trigger language plpgsql as $$
  begin
    if exists (select 1 from image i where i.id = new.image_id and i.original_name like '%boom-cell%') then
      raise exception 'planted failure (cell)';
    end if;
    return new;
  end $$;
  create trigger hemaloop_test_fail_cell before insert on cell
    for each row execute function hemaloop_test_fail_cell();
`;

describeEachDb("import: a database failure mid-image leaves no rows and no orphan files", (kind) => {
  let t: TestDb;
  let tmp: string;
  let storage: LocalStorage;

  const run = (extra: Partial<ImportOptions> & Pick<ImportOptions, "source" | "dataset">) =>
    importImages(t.db, storage, { institution: "Failure Hospital", schemeKey: "pbc-8", maxImagePixels: 50_000_000, ...extra });

  beforeAll(async () => {
    t = await createTestDb(kind);
    // Several statements at once: PGlite's exec, postgres-js's simple protocol (no parameters).
    if (kind === "pglite") await t.pglite!.exec(plantFailures);
    else await t.db.execute(sql.raw(plantFailures));
    tmp = await mkdtemp(path.join(os.tmpdir(), "hemaloop-import-failure-"));
    storage = createLocalStorage(path.join(tmp, "storage"));
  });
  afterAll(async () => {
    await t?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it("rolls back the image, its cell and label, and removes the files it had just stored", async () => {
    const dir = path.join(tmp, "crops");
    await copyInto(await pbcCrop("basophil", 0), path.join(dir, "basophil", "ok.jpg"));
    const boom = await copyInto(await pbcCrop("basophil", 1), path.join(dir, "basophil", "boom-history.jpg"));
    const boomHash = await sha256Of(boom);

    const result = await run({ dataset: "crops", source: { kind: "dir", dir } });
    expect(result.imported).toBe(1);
    expect(result.rejected).toEqual([
      { file: "basophil/boom-history.jpg", reason: expect.stringMatching(/^database write failed: .*planted failure \(label history\)/) },
    ]);
    expect(await t.db.select().from(image).where(like(image.originalName, "%boom%"))).toEqual([]);
    expect((await t.db.select({ n: count() }).from(cell))[0]!.n).toBe(1);
    expect((await t.db.select({ n: count() }).from(label))[0]!.n).toBe(1);
    expect((await t.db.select({ n: count() }).from(labelHistory))[0]!.n).toBe(1);
    const files = await listFiles(storage.rootDir);
    expect(hashesInStorage(files).has(boomHash)).toBe(false);
    expect(files).toHaveLength(2); // ok.jpg: original + thumbnail
  });

  it("keeps files another image row already references (same bytes in another dataset)", async () => {
    const shared = await pbcCrop("monocyte", 0);
    const sharedHash = await sha256Of(shared);
    const otherDir = path.join(tmp, "other");
    await copyInto(shared, path.join(otherDir, "monocyte", "shared.jpg"));
    expect((await run({ dataset: "other", source: { kind: "dir", dir: otherDir } })).imported).toBe(1);
    const before = (await listFiles(storage.rootDir)).filter((f) => f.includes(sharedHash));
    expect(before).toHaveLength(2);

    const dir = path.join(tmp, "shared-boom");
    await copyInto(shared, path.join(dir, "monocyte", "boom-history-shared.jpg"));
    const result = await run({ dataset: "crops-2", source: { kind: "dir", dir } });
    expect(result.imported).toBe(0);
    expect(result.rejected[0]?.reason).toMatch(/planted failure/);
    expect((await listFiles(storage.rootDir)).filter((f) => f.includes(sharedHash))).toEqual(before);
    const [other] = await t.db.select().from(image).where(eq(image.sha256, sharedHash));
    expect(await readFile(storage.resolvePath(other!.storageKey))).toEqual(await readFile(shared));
  });

  it("removes a field's Deep Zoom pyramid when its rows fail", async () => {
    const dir = path.join(tmp, "voc");
    const xml = await readFile(path.join(demoFixtureDir, "bccd", "Annotations", "BloodImage_00003.xml"), "utf8");
    await writeInto(
      path.join(dir, "Annotations", "boom-cell.xml"),
      xml.replace(/<filename>[^<]*<\/filename>/, "<filename>boom-cell.jpg</filename>"),
    );
    const field = await copyInto(
      path.join(demoFixtureDir, "bccd", "JPEGImages", "BloodImage_00003.jpg"),
      path.join(dir, "JPEGImages", "boom-cell.jpg"),
    );
    const result = await run({ dataset: "fields", source: { kind: "voc", dir } });
    expect(result.imported).toBe(0);
    expect(result.rejected).toEqual([
      {
        file: "JPEGImages/boom-cell.jpg",
        reason: expect.stringMatching(/^Annotations\/boom-cell\.xml: database write failed: .*planted failure \(cell\)/),
      },
    ]);
    const files = await listFiles(storage.rootDir);
    expect(hashesInStorage(files).has(await sha256Of(field))).toBe(false);
    expect(files.filter((f) => f.startsWith("dz/"))).toEqual([]);
    expect(files.filter((f) => f.includes(".hl-tmp-"))).toEqual([]);
    expect(await t.db.select().from(image).where(like(image.originalName, "%boom%"))).toEqual([]);
  });

  it("group commit: a failing image in a batch is retried alone, the others in the batch are written", async () => {
    const [ds] = await t.db.select().from(dataset).where(eq(dataset.name, "crops"));
    const scheme = await getSchemeByKey(t.db, "pbc-8");
    const basophil = scheme.classes.find((c) => c.key === "basophil")!;
    const rows = (name: string, n: number): ImageRowsInput => ({
      image: {
        datasetId: ds!.id,
        sha256: String(n).repeat(64).slice(0, 64),
        kind: "crop",
        originalName: name,
        format: "jpeg",
        width: 1,
        height: 1,
        byteSize: 1,
        storageKey: `images/x/${n}.jpg`,
        thumbnailKey: `thumbs/x/${n}.webp`,
      },
      cells: [{ geometry: "whole", x: null, y: null, width: null, height: null, sourceLabel: null, classId: basophil.id }],
    });
    const writer = createGroupWriter(t.db, { schemeId: scheme.id, actorId: null, maxBatch: 64 });
    // The first write starts a transaction at once; the next two queue behind it and share one.
    const outcomes = await Promise.all([
      writer.write(rows("gw-1", 1)),
      writer.write(rows("gw-2", 2)),
      writer.write(rows("gw-boom-history", 3)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(["written", "written", "failed"]);
    const names = (await t.db.select({ name: image.originalName }).from(image).where(like(image.originalName, "gw-%"))).map((r) => r.name);
    expect(names.sort()).toEqual(["gw-1", "gw-2"]);
  });
});
