import { expect, it } from "vitest";
import { dziKeyForTile, resolveStorageKeyAccess } from "../src/queries/file-access";
import { useProjectSuite } from "./helpers/project-suite";
import { describeEachDb } from "./helpers/test-db";

it("maps Deep Zoom tile keys to their descriptor", () => {
  expect(dziKeyForTile("dz/ab/abc_files/12/3_4.jpeg")).toBe("dz/ab/abc.dzi");
  expect(dziKeyForTile("dz/ab/abc_files/0/0_0.png")).toBe("dz/ab/abc.dzi");
  expect(dziKeyForTile("dz/ab/abc.dzi")).toBeNull();
  expect(dziKeyForTile("thumbs/ab/abc.webp")).toBeNull();
  expect(dziKeyForTile("dz/ab/abc_files/x/3_4.jpeg")).toBeNull();
});

describeEachDb("file access", (kind) => {
  const s = useProjectSuite(kind);

  it("decides who may read stored image files", async () => {
    const { db, f } = s;
    const access = (u: { id: string; isSystemAdmin: boolean }, key: string) =>
      resolveStorageKeyAccess(db, { id: u.id, isSystemAdmin: u.isSystemAdmin }, key);
    expect(await access(f.users.annotator, f.keys.thumb)).toBe("visible");
    expect(await access(f.users.annotator, f.keys.original)).toBe("visible");
    expect(await access(f.users.annotator, f.keys.dzi)).toBe("visible");
    expect(await access(f.users.annotator, f.keys.tile)).toBe("visible");
    expect(await access(f.users.annotator, f.keys.otherThumb)).toBe("not_found");
    expect(await access(f.users.outsider, f.keys.thumb)).toBe("not_found");
    expect(await access(f.users.outsider, f.keys.otherThumb)).toBe("visible");
    // institution members see their institution's datasets without being in a project
    expect(await access(f.users.instMember, f.keys.tile)).toBe("visible");
    expect(await access(f.users.instMember, f.keys.otherThumb)).toBe("not_found");
    expect(await access(f.users.sysadmin, f.keys.otherThumb)).toBe("visible");
    expect(await access(f.users.annotator, "thumbs/00/unknown.webp")).toBe("not_found");
  });
});
