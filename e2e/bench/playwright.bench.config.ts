import base from "../playwright.config";
import { defineConfig } from "@playwright/test";

/**
 * Benchmarks reuse the e2e server and browser set-up, but only run *.bench.ts (never part of npm test).
 * Longer expect waits and test timeout: a cold server renders the first page, and the page with 2,000 cells, slowly on a
 * shared machine; only the frame times measured afterwards are the result.
 */
export default defineConfig({
  ...base,
  testDir: import.meta.dirname,
  testMatch: "**/*.bench.ts",
  timeout: 1_800_000,
  expect: { timeout: 120_000 },
  retries: 0,
});
