// House rules that no linter checks, read from the committed tree: the README's layout table names every folder, only
// edge/src/storage/ names the media bucket and its key prefix, code cites no issue numbers, and no declaration carries
// two doc comments (the first of a stacked pair documents nothing). Files come from `git ls-files`, so what is
// generated or installed (node_modules, edge/web/dist, the generated worker types) is not looked at.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");

const tracked: string[] = execFileSync("git", ["ls-files"], { cwd: ROOT, encoding: "utf8" }).split("\n").filter(Boolean);
const text = (file: string) => readFileSync(resolve(ROOT, file), "utf8");

/** The folders of `files`' paths. */
function folders(files: string[]): Set<string> {
  const all = new Set<string>();
  for (const file of files) {
    const parts = file.split("/");
    for (let i = 1; i < parts.length; i++) all.add(parts.slice(0, i).join("/"));
  }
  return all;
}

/** The folders the layout table must name: the top two levels, and the folders of each package's source. */
function layoutFolders(): string[] {
  const sourceRoots = ["edge/src", "edge/src/live", "edge/web/src", "ingest-node/src"];
  const depth = (folder: string) => folder.split("/").length;
  const inSource = (folder: string) => sourceRoots.some((root) => folder.startsWith(`${root}/`) && depth(folder) === depth(root) + 1);
  return [...folders(tracked)].filter((folder) => depth(folder) <= 2 || inSource(folder)).sort();
}

/** Lines of `file` that match `pattern`, as `file:line: text`. */
function matching(files: string[], pattern: RegExp): string[] {
  return files.flatMap((file) =>
    text(file)
      .split("\n")
      .flatMap((line, i) => (pattern.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
  );
}

describe("house style", () => {
  it("the README's layout table names every folder (by its path's last part, as `name/`)", () => {
    const readme = text("README.md");
    const section = readme.slice(readme.indexOf("## Layout"), readme.indexOf("\n## ", readme.indexOf("## Layout") + 1));
    const missing = layoutFolders().filter((folder) => {
      const name = folder.split("/").pop()!;
      return !new RegExp(`[\`/]${name.replace(".", "\\.")}/`).test(section);
    });
    expect(missing).toEqual([]);
  });

  it("finds `MEDIA.` and the literal `live/` key prefix only under edge/src/storage/", () => {
    const edge = tracked.filter((file) => file.startsWith("edge/src/") && file.endsWith(".ts") && !file.startsWith("edge/src/storage/"));
    expect(matching(edge, /\bMEDIA\.|["'`]live\//)).toEqual([]);
  });

  it("code cites no issue numbers", () => {
    const code = tracked.filter((file) => file.endsWith(".ts") || file === ".ci/run");
    expect(matching(code, /\bissues?\s*#?\d+|(^|[\s(])#\d{1,2}\b/i)).toEqual([]);
  });

  it("no declaration has two doc comments stacked on it", () => {
    const stacked = tracked
      .filter((file) => file.endsWith(".ts"))
      .flatMap((file) => {
        const lines = text(file).split("\n");
        return lines.flatMap((line, i) => (line.trim().endsWith("*/") && lines[i + 1]?.trim().startsWith("/**") ? [`${file}:${i + 1}`] : []));
      });
    expect(stacked).toEqual([]);
  });
});
