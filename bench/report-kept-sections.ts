// Hand-written sections of docs/BENCHMARKS.md survive a regenerated report: a numbered section ("## 9. DVR reload
// cost") that the report does not generate holds figures measured by a script run by hand (scripts/dvr-reload-cost.ts,
// scripts/dvr-object-cost.ts), and `npm run bench` rewriting the file must not drop them. So does a kept block inside
// a generated section (scripts/pool-quality.ts writes one into the pool section): the lines from `<!-- kept: NAME -->`
// to `<!-- /kept: NAME -->`, put back at the end of the section of the same title.

/** `generated` with every numbered section of `previous` whose number it lacks put back in number order. */
export function keepHandWrittenSections(generated: string, previous: string | null): string {
  if (previous === null) return generated;
  const lines = generated.split("\n");
  const present = new Set(lines.map(sectionNumber).filter((n): n is number => n !== null));
  const kept = numberedSections(previous).filter((section) => !present.has(section.number));
  for (const section of kept) {
    // Before the first later numbered section, or the first unnumbered one after the numbered ones ("What the numbers
    // show"); at the end when there is neither.
    let seenNumbered = false;
    let at = lines.length;
    for (const [i, line] of lines.entries()) {
      if (!line.startsWith("## ")) continue;
      const n = sectionNumber(line);
      if (n !== null) seenNumbered = true;
      if ((n !== null && n > section.number) || (n === null && seenNumbered)) {
        at = i;
        break;
      }
    }
    lines.splice(at, 0, ...section.lines);
  }
  return keepBlocks(lines, previous).join("\n");
}

/** The marker lines of kept block `name`. */
function blockMarkers(name: string): { start: string; end: string } {
  return { start: `<!-- kept: ${name} -->`, end: `<!-- /kept: ${name} -->` };
}

/**
 * `text` with kept block `name` set to `body` (its lines between the markers): in place when the block is there, else
 * at the end of the "## " section titled `sectionTitle` (its number aside). Throws when neither is found.
 */
export function writeKeptBlock(text: string, sectionTitle: string, name: string, body: string): string {
  const { start, end } = blockMarkers(name);
  const lines = text.split("\n");
  const block = [start, ...body.split("\n"), end];
  const from = lines.indexOf(start);
  const to = lines.indexOf(end);
  if (from !== -1 && to > from) {
    lines.splice(from, to - from + 1, ...block);
    return lines.join("\n");
  }
  const at = sectionEnd(lines, sectionTitle);
  if (at === null) throw new Error(`no section "${sectionTitle}" to put the block ${name} in`);
  lines.splice(at, 0, "", ...block);
  return lines.join("\n");
}

/** Puts back every kept block of `previous` that `lines` lacks, at the end of the section of the same title. */
function keepBlocks(lines: string[], previous: string): string[] {
  const old = previous.split("\n");
  let title: string | null = null;
  for (const [i, line] of old.entries()) {
    if (line.startsWith("## ")) title = sectionTitleOf(line);
    const name = /^<!-- kept: (.+) -->$/.exec(line)?.[1];
    if (name === undefined || title === null) continue;
    const { start, end } = blockMarkers(name);
    const to = old.indexOf(end, i);
    if (to === -1 || lines.includes(start)) continue;
    const at = sectionEnd(lines, title);
    // A block whose section the report no longer has is left out with it.
    if (at !== null) lines.splice(at, 0, "", ...old.slice(i, to + 1));
  }
  return lines;
}

/** A "## " heading's title without its number: "## 11. Transcoding pool" -> "Transcoding pool". */
function sectionTitleOf(line: string): string {
  return line.replace(/^## (\d+\. )?/, "");
}

/** The index just past the last non-blank line of the section titled `title`, or null when there is none. */
function sectionEnd(lines: readonly string[], title: string): number | null {
  const heading = lines.findIndex((line) => line.startsWith("## ") && sectionTitleOf(line) === title);
  if (heading === -1) return null;
  let next = lines.findIndex((line, i) => i > heading && line.startsWith("## "));
  if (next === -1) next = lines.length;
  let at = next;
  while (at > heading + 1 && lines[at - 1]!.trim() === "") at -= 1;
  return at;
}

function sectionNumber(line: string): number | null {
  const match = /^## (\d+)\. /.exec(line);
  return match ? Number(match[1]) : null;
}

/** The numbered sections of a report: each from its heading up to the next "## " heading. */
function numberedSections(text: string): Array<{ number: number; lines: string[] }> {
  const sections: Array<{ number: number; lines: string[] }> = [];
  let current: { number: number; lines: string[] } | null = null;
  for (const line of text.split("\n")) {
    if (line.startsWith("## ")) {
      const n = sectionNumber(line);
      current = n === null ? null : { number: n, lines: [] };
      if (current) sections.push(current);
    }
    current?.lines.push(line);
  }
  return sections;
}
