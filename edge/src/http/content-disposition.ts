// Content-Disposition for downloads (RFC 6266): an ASCII `filename` every client understands and a UTF-8 `filename*`
// (RFC 8187) for those that read it, both built from a user-chosen title, so neither can break out of the header.

const MAX_NAME_CHARS = 100;

/** `name` reduced to characters safe in a quoted ASCII filename on any OS: letters, digits, space, `.`, `_`, `-`. */
function asciiName(name: string): string {
  return name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^A-Za-z0-9 ._-]+/g, "_")
    .replace(/_+/g, "_")
    .replace(/^[ ._]+|[ ._]+$/g, "")
    .slice(0, MAX_NAME_CHARS);
}

/** `name` without control characters or path separators (for `filename*`). */
function unicodeName(name: string): string {
  return [
    ...name
      .normalize("NFC")
      // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters from a filename is the point
      .replace(/[\u0000-\u001f\u007f/\\]+/g, "_")
      .trim(),
  ]
    .slice(0, MAX_NAME_CHARS)
    .join("");
}

/** RFC 8187 value-chars: what encodeURIComponent leaves alone minus `'()*` (not attr-chars). */
function encodeExtValue(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * `attachment` with the file name `<title>-<suffix>.<extension>`; `fallback` (an id) stands in for a title that is
 * empty or has nothing ASCII-safe in it.
 */
export function attachmentDisposition(title: string | null | undefined, fallback: string, suffix: string, extension: string): string {
  const ascii = `${asciiName(title ?? "") || fallback}-${asciiName(suffix) || "file"}.${extension}`;
  const unicode = `${unicodeName(title ?? "") || fallback}-${unicodeName(suffix) || "file"}.${extension}`;
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeExtValue(unicode)}`;
}
