// A few DOM helpers for the dashboard's views: element creation, and a scope that stops a view's timers and players
// when the page moves on.

type Child = Node | string | number | null | undefined | false;
type Props<K extends keyof HTMLElementTagNameMap> = Partial<Omit<HTMLElementTagNameMap[K], "style" | "dataset">> & {
  dataset?: Record<string, string>;
  /** Attributes set as such (aria-*, for, role, ...). */
  attrs?: Record<string, string>;
};

/** Creates a `tag` element with `props` and `children` (strings become text: never parsed as HTML). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props<K> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  const { dataset, attrs, ...rest } = props;
  Object.assign(element, rest);
  for (const [key, value] of Object.entries(dataset ?? {})) element.dataset[key] = value;
  for (const [key, value] of Object.entries(attrs ?? {})) element.setAttribute(key, value);
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** A labelled form field: `<label for>` + control, in a wrapper (the label is what screen readers announce). */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLElement {
  control.id ||= `f-${label.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-${Math.random().toString(36).slice(2, 7)}`;
  const hintId = hint ? `${control.id}-hint` : null;
  if (hintId) control.setAttribute("aria-describedby", hintId);
  return h("div", { className: "field" }, h("label", { htmlFor: control.id }, label), control, hint && hintId ? h("small", { id: hintId }, hint) : null);
}

/** A `<select>` of `options` (value, label), with `selected` chosen. */
export function select(name: string, options: readonly (readonly [string, string])[], selected?: string): HTMLSelectElement {
  const element = h("select", { name });
  for (const [value, label] of options) element.add(new Option(label, value, false, value === selected));
  return element;
}

/** Formats an ISO time as the browser's local date and time. */
export function when(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : "—";
}

/** Formats seconds as m:ss (or h:mm:ss). */
export function duration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "—";
  const s = Math.round(seconds);
  const hms = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  return (hms[0] ? [hms[0], String(hms[1]).padStart(2, "0")] : [hms[1]]).concat(String(hms[2]).padStart(2, "0")).join(":");
}

/** What a view holds while it is on screen: timers and cleanups, all released by `dispose`. */
export class Scope {
  private readonly cleanups: (() => void)[] = [];
  private disposed = false;

  /** Runs `fn` every `ms` (not after dispose; the next run waits for the previous one to settle). */
  every(ms: number, fn: () => Promise<void> | void): void {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      if (this.disposed) return;
      try {
        await fn();
      } finally {
        if (!this.disposed) timer = setTimeout(tick, ms);
      }
    };
    timer = setTimeout(tick, ms);
    this.cleanups.push(() => clearTimeout(timer));
  }

  /** Runs `cleanup` on dispose. */
  onDispose(cleanup: () => void): void {
    if (this.disposed) cleanup();
    else this.cleanups.push(cleanup);
  }

  /** Whether the view is gone (an answer that arrives after it is dropped). */
  get gone(): boolean {
    return this.disposed;
  }

  /** Stops everything the view started. */
  dispose(): void {
    this.disposed = true;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
  }
}
