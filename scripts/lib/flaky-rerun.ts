// Which failed test files `npm test` runs once more, alone, and how it reports them: pure, from vitest's JSON report.
//
// Why a second run at all: the e2e files drive real-time media (FFmpeg, workerd, Chromium) on the same cores as every
// other test file, and a deadline missed because a neighbour took the cores (a stall, a late segment, a late job) is
// not a regression. A file that fails again alone, or more failed files than `maxFiles`, or any unit or edge file,
// fails the run. What passed only the second time is printed by name with its first failure, never hidden.
import { relative } from "node:path";

/** The parts of vitest's JSON report (`--reporter=json`) read here. */
export interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  testResults: {
    /** The file's absolute path. */
    name: string;
    status: string;
    /** Why the file failed outside a test (a hook), if it did. */
    message?: string;
    assertionResults: { fullName: string; status: string; failureMessages: string[] }[];
  }[];
}

/** One failed test of a file (or the file's own failure, with no test named). */
export interface FailedTest {
  file: string;
  test: string | null;
  firstLine: string;
}

/** The failed tests of `report`, file paths relative to `root`. */
export function failedTests(report: VitestReport, root: string): FailedTest[] {
  const failed: FailedTest[] = [];
  for (const file of report.testResults) {
    if (file.status !== "failed") continue;
    const path = relative(root, file.name);
    const tests = file.assertionResults.filter((t) => t.status === "failed");
    for (const t of tests) failed.push({ file: path, test: t.fullName, firstLine: firstLine(t.failureMessages[0] ?? "") });
    if (tests.length === 0) failed.push({ file: path, test: null, firstLine: firstLine(file.message ?? "") });
  }
  return failed;
}

/**
 * The files to run once more: every failed file when all are e2e files and there are at most `maxFiles` of them;
 * none otherwise (a unit or edge failure, or many e2e files at once, is no deadline missed by chance).
 */
export function filesToRerun(failed: readonly FailedTest[], maxFiles: number): string[] {
  const files = [...new Set(failed.map((f) => f.file))];
  if (files.length === 0 || files.length > maxFiles) return [];
  return files.every((f) => f.startsWith("test/e2e/")) ? files : [];
}

/**
 * The closing lines: counts, then each test that failed and passed when its file ran again (`flaky`; empty when
 * nothing was run again or it failed again, and the first run's counts stand).
 */
export function summaryLines(first: VitestReport, flaky: readonly FailedTest[]): string[] {
  const passed = first.numPassedTests + (flaky.length > 0 ? first.numFailedTests : 0);
  const failed = flaky.length > 0 ? 0 : first.numFailedTests;
  const lines = [`tests: ${passed} passed, ${failed} failed, ${first.numPendingTests} skipped`];
  if (flaky.length > 0) {
    lines.push(`flaky: ${flaky.length} failed in the full run and passed when their file ran again alone:`);
    for (const f of flaky) lines.push(`  ${f.file} > ${f.test ?? "(the file's hooks)"}: ${f.firstLine}`);
  }
  return lines;
}

function firstLine(message: string): string {
  return (message.split("\n").find((l) => l.trim() !== "") ?? "").trim().slice(0, 300);
}
