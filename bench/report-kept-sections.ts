// Hand-written sections of docs/BENCHMARKS.md survive a regenerated report: a numbered section ("## 9. DVR reload
// cost") that the report does not generate holds figures measured by a script run by hand (scripts/dvr-reload-cost.ts,
// scripts/dvr-object-cost.ts), and `npm run bench` rewriting the file must not drop them.

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
  return lines.join("\n");
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
