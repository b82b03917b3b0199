/**
 * The label-budget replay runs recorded in docs/benchmarks.md ("Label-budget replay"): PBC 8-class
 * with five strategies, a cold-start coverage check with seeds of 100, and the rare-basophil
 * variant (basophils 1 % of the cells: 57 of 800 kept) with and without class quotas. Head-only rounds on pixel-statistics embeddings
 * (--threshold off), which is what fits in an hour on the shared 2-core machine.
 *
 *   npm run bench -- replay-pbc [--data ../shared/data/pbc/manifest.csv] [--out /tmp/hemaloop-replay-pbc]
 *     [--only coldstart100,pbc8,rare-noquota,rare-cold100,rare-quota] [--cache-dir <dir>]
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { runMlCli } from "../src/cli/ml-cli";

const { values } = parseArgs({
  options: {
    data: { type: "string", default: "/work/shared/data/pbc/manifest.csv" },
    out: { type: "string", default: "/tmp/hemaloop-replay-pbc" },
    only: { type: "string" },
    "cache-dir": { type: "string" },
  },
});

const runs: Record<string, string[]> = {
  coldstart100: ["--strategies", "random", "--seed-size", "100", "--batch", "100", "--budget", "100", "--repeats", "10"],
  pbc8: ["--strategies", "random,entropy,bald,coreset,hybrid", "--seed-size", "40", "--batch", "40", "--budget", "1000", "--repeats", "3"],
  "rare-noquota": ["--subsample-class", "basophil=0.0707", "--strategies", "random,entropy,hybrid", "--budget", "400", "--repeats", "3"],
  "rare-cold100": [
    "--subsample-class",
    "basophil=0.0707",
    "--strategies",
    "random",
    "--seed-size",
    "100",
    "--batch",
    "100",
    "--budget",
    "100",
    "--repeats",
    "5",
  ],
  "rare-quota": [
    "--subsample-class",
    "basophil=0.0707",
    "--quotas",
    "0.05",
    "--strategies",
    "random,entropy,hybrid",
    "--budget",
    "400",
    "--repeats",
    "3",
  ],
};
const selected = values.only ? values.only.split(",") : Object.keys(runs);
for (const name of selected) {
  const args = runs[name];
  if (!args) throw new Error(`unknown run '${name}' (known: ${Object.keys(runs).join(", ")})`);
  const common = ["--data", values.data, "--scheme", "pbc-8", "--threshold", "off", "--out", path.join(values.out, name)];
  const cache = values["cache-dir"] ? ["--cache-dir", values["cache-dir"]] : [];
  const t0 = performance.now();
  process.stderr.write(`== ${name}\n`);
  const code = await runMlCli(["replay", ...common, ...cache, ...args], {});
  process.stderr.write(`== ${name}: exit ${code}, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  if (code !== 0) process.exit(code);
}
