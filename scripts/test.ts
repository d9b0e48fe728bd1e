// `npm test`: make sure ffmpeg and chromium exist, then run every test project (unit, edge in workerd, e2e). An e2e
// file that failed is run once more alone (scripts/lib/flaky-rerun.ts says which and why); the closing lines name
// every test that passed only then.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { type FailedTest, failedTests, filesToRerun, summaryLines, type VitestReport } from "./lib/flaky-rerun.ts";
import { TEST_TOOLS, ensureSystemTools } from "./lib/system-packages.ts";

/** More e2e files than this failing at once is no chance: they are not run again. */
const MAX_RERUN_FILES = 2;

ensureSystemTools(TEST_TOOLS);
mkdirSync(".tmp", { recursive: true });

/** Runs vitest with a JSON report at `report`; its exit status and the report (null if it wrote none). */
function vitest(report: string, args: string[]): { status: number; report: VitestReport | null } {
  rmSync(report, { force: true });
  const argv = ["vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...args];
  const result = spawnSync("npx", argv, { stdio: "inherit", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
  try {
    return { status: result.status ?? 1, report: JSON.parse(readFileSync(report, "utf8")) as VitestReport };
  } catch {
    return { status: result.status ?? 1, report: null };
  }
}

const first = vitest(".tmp/vitest-report.json", process.argv.slice(2));
if (first.report === null) {
  console.log("\ntests: the vitest report is missing; see the output above");
  process.exit(first.status);
}
const failed = failedTests(first.report, process.cwd());
const rerun = first.status === 0 ? [] : filesToRerun(failed, MAX_RERUN_FILES);
let flaky: FailedTest[] = [];
let status = first.status;
if (rerun.length > 0) {
  console.log(`\n${failed.length} e2e test(s) failed in ${rerun.join(", ")}: running the file(s) once more, alone`);
  const second = vitest(".tmp/vitest-rerun.json", ["--project", "e2e", ...rerun]);
  status = second.status;
  flaky = second.status === 0 ? failed : [];
}
// A plain closing block any CI reads: "tests: N passed, N failed", then what passed only when run again.
console.log(`\n${summaryLines(first.report, flaky).join("\n")}`);
process.exit(status);
