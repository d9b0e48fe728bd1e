// The edge's import graph has no cycles: not between files, and not between the folders of edge/src (live/ may use
// vod/, so vod/ never uses live/). Read from the source text, type-only imports included, so a cycle cannot hide
// behind `import type`.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../../../edge/src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** File -> the files of edge/src it imports (relative specifiers only). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(ROOT)) {
    const text = readFileSync(file, "utf8");
    const targets = [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+["'](\.[^"']+)["']/gm)]
      .map((match) => resolve(dirname(file), match[1]!))
      .filter((target) => target.startsWith(ROOT));
    graph.set(relative(ROOT, file), [...new Set(targets.map((target) => relative(ROOT, target)))]);
  }
  return graph;
}

/** One cycle of `graph` (as a path that returns to its start), or null. */
function findCycle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string): string[] | null => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") return [...stack.slice(stack.indexOf(next)), next];
      if (!state.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(node, "done");
    return null;
  };
  for (const node of graph.keys()) {
    if (state.has(node)) continue;
    const found = visit(node);
    if (found) return found;
  }
  return null;
}

/** The folder (first path segment under edge/src) of a file; top-level files form the folder ".". */
const folderOf = (file: string) => (file.includes("/") ? file.slice(0, file.indexOf("/")) : ".");

describe("edge import graph", () => {
  it("has no cycle between files", () => {
    expect(findCycle(importGraph())).toBeNull();
  });

  it("has no cycle between the folders under edge/src (routes/ and the top-level files import them, never the reverse)", () => {
    const folders = new Map<string, string[]>();
    for (const [file, targets] of importGraph()) {
      const from = folderOf(file);
      // index.ts, config.ts and routes/ sit on top and may import anything (they mount, they are not imported back).
      if (from === "." || from === "routes") continue;
      const into = new Set(folders.get(from) ?? []);
      for (const target of targets) if (folderOf(target) !== from && folderOf(target) !== ".") into.add(folderOf(target));
      folders.set(from, [...into]);
    }
    expect(findCycle(folders)).toBeNull();
  });

  it("keeps live/ pure: its top-level files import no object or store and touch no Durable Object storage", () => {
    const impure: string[] = [];
    for (const [file, targets] of importGraph()) {
      if (dirname(file) !== "live") continue;
      const text = readFileSync(join(ROOT, file), "utf8");
      if (targets.some((target) => target.startsWith("live/objects/") || target.startsWith("live/stores/"))) impure.push(file);
      else if (/\bSqlStorage\b|\bDurableObject\b|ctx\.storage|\.sql\.exec/.test(text)) impure.push(file);
    }
    expect(impure).toEqual([]);
  });
});
