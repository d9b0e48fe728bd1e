// Which failed files `npm test` runs again alone, and the closing lines it prints.
import { describe, expect, it } from "vitest";
import { failedTests, filesToRerun, summaryLines, type VitestReport } from "../../../scripts/lib/flaky-rerun.ts";

const ROOT = "/repo";

function report(files: { name: string; failed?: string[]; passed?: number; hookMessage?: string }[]): VitestReport {
  const testResults = files.map((f) => ({
    name: `${ROOT}/${f.name}`,
    status: (f.failed?.length ?? 0) > 0 || f.hookMessage ? "failed" : "passed",
    message: f.hookMessage ?? "",
    assertionResults: [
      ...(f.failed ?? []).map((fullName) => ({ fullName, status: "failed", failureMessages: [`\nError: ${fullName} timed out\n    at harness.ts:255`] })),
      ...Array.from({ length: f.passed ?? 0 }, (_, i) => ({ fullName: `ok ${i}`, status: "passed", failureMessages: [] })),
    ],
  }));
  const all = testResults.flatMap((r) => r.assertionResults);
  return {
    numPassedTests: all.filter((t) => t.status === "passed").length,
    numFailedTests: all.filter((t) => t.status === "failed").length,
    numPendingTests: 0,
    testResults,
  };
}

describe("the failed e2e files npm test runs again", () => {
  it("are the failed files, when every one is an e2e file and there are at most maxFiles", () => {
    const r = report([
      { name: "test/e2e/whip-ingest.test.ts", failed: ["WHIP > Chromium publishes"], passed: 9 },
      { name: "test/e2e/pool.test.ts", failed: ["pool > plays", "pool > gaps"] },
      { name: "test/unit/a.test.ts", passed: 3 },
    ]);
    const failed = failedTests(r, ROOT);
    expect(failed.map((f) => [f.file, f.test, f.firstLine])).toEqual([
      ["test/e2e/whip-ingest.test.ts", "WHIP > Chromium publishes", "Error: WHIP > Chromium publishes timed out"],
      ["test/e2e/pool.test.ts", "pool > plays", "Error: pool > plays timed out"],
      ["test/e2e/pool.test.ts", "pool > gaps", "Error: pool > gaps timed out"],
    ]);
    expect(filesToRerun(failed, 2)).toEqual(["test/e2e/whip-ingest.test.ts", "test/e2e/pool.test.ts"]);
    expect(filesToRerun(failed, 1)).toEqual([]);
  });

  it("are none when a unit or edge file failed too, or nothing failed", () => {
    const r = report([
      { name: "test/e2e/whip-ingest.test.ts", failed: ["WHIP > x"] },
      { name: "test/edge/routes/a.test.ts", failed: ["a > b"] },
    ]);
    expect(filesToRerun(failedTests(r, ROOT), 5)).toEqual([]);
    expect(filesToRerun(failedTests(report([{ name: "test/e2e/a.test.ts", passed: 2 }]), ROOT), 5)).toEqual([]);
  });

  it("include a file that failed in a hook, with the hook's message", () => {
    const failed = failedTests(report([{ name: "test/e2e/dvr.test.ts", hookMessage: "Error: beforeAll timed out" }]), ROOT);
    expect(failed).toEqual([{ file: "test/e2e/dvr.test.ts", test: null, firstLine: "Error: beforeAll timed out" }]);
    expect(filesToRerun(failed, 2)).toEqual(["test/e2e/dvr.test.ts"]);
  });
});

describe("the closing lines", () => {
  const r = report([{ name: "test/e2e/whip-ingest.test.ts", failed: ["WHIP > Chromium publishes"], passed: 9 }]);

  it("count a test that passed when run again as passed, and name it with its first failure", () => {
    expect(summaryLines(r, failedTests(r, ROOT))).toEqual([
      "tests: 10 passed, 0 failed, 0 skipped",
      "flaky: 1 failed in the full run and passed when their file ran again alone:",
      "  test/e2e/whip-ingest.test.ts > WHIP > Chromium publishes: Error: WHIP > Chromium publishes timed out",
    ]);
  });

  it("keep the first run's counts when nothing passed again", () => {
    expect(summaryLines(r, [])).toEqual(["tests: 9 passed, 1 failed, 0 skipped"]);
  });
});
