// Command-line options of `npm run bench`: --quick, --only=a,b, --no-readme.

/** The benchmark sections, in run order. */
export const SECTIONS = ["latency", "throughput", "fanout", "cost", "ingest"] as const;
export type Section = (typeof SECTIONS)[number];

/** Parsed options. */
export interface BenchOptions {
  quick: boolean;
  only: Section[];
  /** Rewrite the README's "Measured" section (full runs of every section only). */
  readme: boolean;
  /** The command line as a user would type it. */
  command: string;
}

const ALIASES: Record<string, Section> = { edge: "throughput", "edge-throughput": "throughput", "fan-out": "fanout" };

/** Parses argv (without node and the script). Throws on unknown flags or sections. */
export function parseOptions(argv: string[]): BenchOptions {
  let quick = false;
  let only: Section[] = [...SECTIONS];
  let readme = true;
  for (const arg of argv) {
    if (arg === "--quick") quick = true;
    else if (arg === "--no-readme") readme = false;
    else if (arg === "--report") only = [];
    else if (arg.startsWith("--only=")) {
      const names = arg.slice("--only=".length).split(",").map((s) => s.trim()).filter(Boolean);
      only = names.map((name) => {
        const section = (ALIASES[name] ?? name) as Section;
        if (!SECTIONS.includes(section)) throw new Error(`unknown section "${name}" (known: ${SECTIONS.join(", ")})`);
        return section;
      });
    } else if (arg === "--help" || arg === "-h") {
      throw new Error("usage");
    } else throw new Error(`unknown option ${arg}`);
  }
  const command = ["npm run bench", ...(argv.length > 0 ? ["--", ...argv] : [])].join(" ");
  return { quick, only: SECTIONS.filter((s) => only.includes(s)), readme, command };
}

export const USAGE = `usage: npm run bench [-- [--quick] [--only=${SECTIONS.join(",")}] [--no-readme]]
  --quick       a ~3 minute smoke run (shorter publishes and wrk runs, fewer steps)
  --only=...    run only these sections; the others keep their figures from the last run in docs/bench/results.json
  --report      run nothing: rewrite docs/BENCHMARKS.md (and the README summary) from docs/bench/results.json
  --no-readme   do not rewrite the README's "Measured" section (rewritten only when every section has full-run figures)`;
