import base from "../playwright.config";
import { defineConfig } from "@playwright/test";

/** Benchmarks reuse the e2e server and browser set-up, but only run *.bench.ts (never part of npm test). */
export default defineConfig({ ...base, testDir: import.meta.dirname, testMatch: "**/*.bench.ts", timeout: 600_000, retries: 0 });
