import { CLASS_SCHEMES } from "@hemaloop/ml/schemes";
import { describe, expect, it } from "vitest";
import { builtInMappings, builtInSchemes } from "../src/seed/built-in-schemes";

// The database seeds these schemes and the ML CLIs train on CLASS_SCHEMES: a model's output index i must
// mean the same class on both sides, so the key lists (and their order) must be identical.
describe("built-in schemes", () => {
  it("lists the same class keys, in the same order, as @hemaloop/ml", () => {
    const seeded = Object.fromEntries(builtInSchemes.map((s) => [s.key, s.classes.map((c) => c.key)]));
    expect(seeded).toEqual(CLASS_SCHEMES);
  });

  it("maps only between seeded schemes, from and to their own class keys", () => {
    const keys = new Map(builtInSchemes.map((s) => [s.key, new Set(s.classes.map((c) => c.key))]));
    expect(builtInMappings.length).toBeGreaterThanOrEqual(4);
    for (const m of builtInMappings) {
      const from = keys.get(m.from);
      const to = keys.get(m.to);
      expect(from, m.from).toBeDefined();
      expect(to, m.to).toBeDefined();
      expect(new Set(Object.keys(m.entries))).toEqual(from);
      for (const target of Object.values(m.entries))
        if (target !== null) expect(to!.has(target), `${m.from}->${m.to}: ${target}`).toBe(true);
    }
  });
});
