// Rendered playlists, kept until the live window next changes: a thousand blocked requests released by one part
// share one render instead of rendering the same text a thousand times on the Durable Object's single thread.

/** A cache of rendered playlists for the current state of the live window. */
export class RenderCache {
  private readonly entries = new Map<string, string | null>();

  /** Forgets everything: call whenever the window changes. */
  invalidate(): void {
    this.entries.clear();
  }

  /** The text for `key`, rendering it with `render` on a miss. */
  get(key: string, render: () => string | null): string | null {
    if (this.entries.has(key)) return this.entries.get(key)!;
    const text = render();
    // Bounded: renditions x skip x token queries; a flood of distinct tokens must not grow it without limit.
    if (this.entries.size >= 256) this.entries.clear();
    this.entries.set(key, text);
    return text;
  }
}
