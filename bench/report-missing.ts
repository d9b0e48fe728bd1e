// The line a report section shows instead of its figures when its last run failed or it never ran.
import type { SectionRun } from "./results.ts";

/** Why a section has no figures; `only` names the `--only=` value that measures it (none: the whole bench). */
export function sectionMissing(run: SectionRun<unknown> | undefined, only?: string): string {
  if (run) return `_This section failed in the last run (${run.startedAt}): ${run.error ?? "unknown error"}_`;
  return `_Not measured yet: run \`npm run bench${only ? ` -- --only=${only}` : ""}\`._`;
}
