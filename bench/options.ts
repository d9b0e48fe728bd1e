// Command-line options of `npm run bench`: --quick, --only=a,b, --no-readme, --soak-minutes=N, --play-seconds=N.

/** The benchmark sections, in run order. */
export const SECTIONS = ["latency", "throughput", "fanout", "viewers", "players", "cost", "ingest", "pool", "soak"] as const;
export type Section = (typeof SECTIONS)[number];

/** Parsed options. */
export interface BenchOptions {
  quick: boolean;
  only: Section[];
  /** Rewrite the README's "Measured" section (full runs of every section only). */
  readme: boolean;
  /** The command line as a user would type it. */
  command: string;
  /** Length of the memory soak in minutes (default 5, 1 with --quick). */
  soakMinutes: number | null;
  /** Edges the soak runs on, one after the other: wrangler dev (default) and/or the bundled Worker on a direct socket. */
  soakEdges: ("dev" | "direct")[];
  /** Seconds each player plays in the players section (default 60, 15 with --quick). */
  playSeconds: number | null;
}

const ALIASES: Record<string, Section> = { edge: "throughput", "edge-throughput": "throughput", "fan-out": "fanout", "viewer-scale": "viewers" };

/** Parses argv (without node and the script). Throws on unknown flags or sections. */
export function parseOptions(argv: string[]): BenchOptions {
  let quick = false;
  let only: Section[] = [...SECTIONS];
  let readme = true;
  let soakMinutes: number | null = null;
  let soakEdges: ("dev" | "direct")[] = ["dev"];
  let playSeconds: number | null = null;
  for (const arg of argv) {
    if (arg === "--quick") quick = true;
    else if (arg.startsWith("--play-seconds=")) {
      playSeconds = Number(arg.slice("--play-seconds=".length));
      if (!Number.isInteger(playSeconds) || playSeconds < 5 || playSeconds > 600) throw new Error("--play-seconds: whole seconds, 5 <= N <= 600");
    } else if (arg.startsWith("--soak-minutes=")) {
      soakMinutes = Number(arg.slice("--soak-minutes=".length));
      if (!Number.isFinite(soakMinutes) || soakMinutes <= 0 || soakMinutes > 24 * 60) throw new Error(`--soak-minutes: a number of minutes, 0 < N <= 1440`);
    } else if (arg.startsWith("--soak-edges=")) {
      const edges = arg
        .slice("--soak-edges=".length)
        .split(",")
        .map((x) => x.trim());
      if (edges.length === 0 || edges.some((x) => x !== "dev" && x !== "direct")) throw new Error("--soak-edges: dev, direct or dev,direct");
      soakEdges = edges as ("dev" | "direct")[];
    } else if (arg === "--no-readme") readme = false;
    else if (arg === "--report") only = [];
    else if (arg.startsWith("--only=")) {
      const names = arg
        .slice("--only=".length)
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
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
  return { quick, only: SECTIONS.filter((s) => only.includes(s)), readme, command, soakMinutes, soakEdges, playSeconds };
}

export const USAGE = `usage: npm run bench [-- [--quick] [--only=${SECTIONS.join(",")}] [--no-readme] [--soak-minutes=N] [--soak-edges=dev,direct] [--play-seconds=N]]
  --quick       a ~5 minute smoke run (shorter publishes and wrk runs, fewer steps, a 1-minute soak)
  --only=...    run only these sections; the others keep their figures from the last run in docs/bench/results.json
  --report      run nothing: rewrite docs/BENCHMARKS.md (and the README summary) from docs/bench/results.json
  --no-readme   do not rewrite the README's "Measured" section (rewritten only when every section has full-run figures)
  --soak-minutes=N  how long the memory soak runs (default 5, 1 with --quick; the issue's "hours" compressed)
  --soak-edges=dev,direct  soak wrangler dev (default), and/or the bundled Worker on a direct socket, one after the other
  --play-seconds=N  how long each player plays in the players section (default 60, 15 with --quick)`;
