import { describe, expect, it } from "vitest";
import { StartPrerequisiteError } from "../../../scripts/lib/ensure-ffmpeg.ts";
import { workersFlag } from "../../../scripts/lib/pool-dev.ts";

describe("npm start --workers", () => {
  it("reads N from --workers N or --workers=N, 0 without the flag", () => {
    expect(workersFlag([])).toBe(0);
    expect(workersFlag(["--fresh"])).toBe(0);
    expect(workersFlag(["--workers", "2"])).toBe(2);
    expect(workersFlag(["--no-demo", "--workers=3"])).toBe(3);
  });

  it("refuses a missing or unreasonable N with one line", () => {
    for (const argv of [["--workers"], ["--workers", "0"], ["--workers=two"], ["--workers", "1.5"], ["--workers", "17"]]) {
      expect(() => workersFlag(argv)).toThrow(StartPrerequisiteError);
    }
    expect(() => workersFlag(["--workers", "x"])).toThrow(/--workers: expected a whole number from 1 to 16/);
  });
});
