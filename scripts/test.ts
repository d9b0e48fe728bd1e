// `npm test`: make sure ffmpeg and chromium exist, then run every test project (unit, edge in workerd, e2e).
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { TEST_TOOLS, ensureSystemTools } from "./lib/system-packages.ts";

ensureSystemTools(TEST_TOOLS);

mkdirSync(".tmp", { recursive: true });
const report = ".tmp/vitest-report.json";
const args = ["vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...process.argv.slice(2)];
const result = spawnSync("npx", args, { stdio: "inherit", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });

// A plain closing line any CI reads: "N passed, N failed".
try {
  const summary = JSON.parse(readFileSync(report, "utf8")) as { numPassedTests: number; numFailedTests: number; numPendingTests: number };
  console.log(`\ntests: ${summary.numPassedTests} passed, ${summary.numFailedTests} failed, ${summary.numPendingTests} skipped`);
} catch {
  console.log("\ntests: the vitest report is missing; see the output above");
}
process.exit(result.status ?? 1);
