// A regenerated docs/BENCHMARKS.md keeps the hand-written numbered sections of the previous one, in number order, and
// the kept blocks a script wrote into a generated section.
import { describe, expect, it } from "vitest";
import { keepHandWrittenSections, writeKeptBlock } from "../../../bench/report-kept-sections.ts";

const generated = ["# Benchmarks", "", "## Summary", "", "## 1. A", "a", "", "## 8. H", "h", "", "## 11. K", "k", "", "## What the numbers show", "w", ""].join(
  "\n",
);

describe("keepHandWrittenSections", () => {
  it("puts back numbered sections the report lacks, where their numbers say, and never a generated one twice", () => {
    const previous = [
      "# Benchmarks",
      "## Summary",
      "old",
      "## 1. A",
      "old a",
      "## 9. DVR",
      "dvr",
      "",
      "## 10. J",
      "j",
      "",
      "## 12. L",
      "l",
      "## What the numbers show",
      "old w",
    ].join("\n");
    const merged = keepHandWrittenSections(generated, previous);
    expect(merged.split("\n").filter((line) => line.startsWith("## "))).toEqual([
      "## Summary",
      "## 1. A",
      "## 8. H",
      "## 9. DVR",
      "## 10. J",
      "## 11. K",
      "## 12. L",
      "## What the numbers show",
    ]);
    expect(merged).toContain("## 9. DVR\ndvr\n\n## 10. J\nj\n\n## 11. K");
    expect(merged).toContain("## 1. A\na\n");
    expect(merged).not.toContain("old");
  });

  it("changes nothing without a previous report or when every section is generated", () => {
    expect(keepHandWrittenSections(generated, null)).toBe(generated);
    expect(keepHandWrittenSections(generated, generated)).toBe(generated);
  });

  it("writes a kept block at the end of its section, then in place", () => {
    const once = writeKeptBlock(generated, "K", "q", "### Q\nfirst");
    expect(once).toContain("## 11. K\nk\n\n<!-- kept: q -->\n### Q\nfirst\n<!-- /kept: q -->\n\n## What the numbers show");
    const twice = writeKeptBlock(once, "K", "q", "### Q\nsecond");
    expect(twice).toBe(once.replace("first", "second"));
    expect(() => writeKeptBlock(generated, "Nowhere", "q", "x")).toThrow(/no section "Nowhere"/);
  });

  it("puts a kept block back into its regenerated section", () => {
    const previous = writeKeptBlock(generated, "K", "q", "### Q\nfigures").replace("\nk\n", "\nold k\n");
    const merged = keepHandWrittenSections(generated, previous);
    expect(merged).toBe(writeKeptBlock(generated, "K", "q", "### Q\nfigures"));
    // A report that generates the block itself keeps its own.
    const own = writeKeptBlock(generated, "K", "q", "### Q\nnew");
    expect(keepHandWrittenSections(own, previous)).toBe(own);
  });
});
