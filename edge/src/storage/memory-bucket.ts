// An ObjectBucket in memory, for unit tests of the code behind the media store (VOD and clip writing, release,
// download indexes) without workerd. Object ranges are honoured; reads conditional on request headers are not.
import type { ByteRange, ObjectBucket, ObjectListing, StoredBody, StoredObject } from "./object-bucket.ts";

interface Entry {
  bytes: Uint8Array;
  contentType: string | undefined;
  uploaded: Date;
}

/** An in-memory bucket; `failNext` makes the next matching calls throw, as a failing R2 would. */
export class MemoryBucket implements ObjectBucket {
  private readonly objects = new Map<string, Entry>();
  private readonly failures: { operation: "get" | "put" | "delete" | "list"; count: number }[] = [];

  /** The stored keys, sorted. */
  keys(): string[] {
    return [...this.objects.keys()].sort();
  }

  /** Makes the next `count` calls of `operation` throw. */
  failNext(operation: "get" | "put" | "delete" | "list", count = 1): void {
    this.failures.push({ operation, count });
  }

  private maybeFail(operation: "get" | "put" | "delete" | "list"): void {
    const failure = this.failures.find((f) => f.operation === operation && f.count > 0);
    if (!failure) return;
    failure.count -= 1;
    throw new Error(`memory bucket: ${operation} failed (injected)`);
  }

  async head(key: string): Promise<StoredObject | null> {
    const entry = this.objects.get(key);
    return entry ? metadata(key, entry) : null;
  }

  async get(key: string, options: { range?: ByteRange | Headers } = {}): Promise<StoredBody | null> {
    this.maybeFail("get");
    const entry = this.objects.get(key);
    if (!entry) return null;
    const range = options.range && !(options.range instanceof Headers) ? options.range : undefined;
    let bytes = entry.bytes;
    if (range) {
      const offset = "suffix" in range ? bytes.byteLength - range.suffix : (range.offset ?? 0);
      const length = "suffix" in range ? range.suffix : (range.length ?? bytes.byteLength - offset);
      bytes = bytes.slice(offset, offset + length);
    }
    const copy = bytes.slice();
    return {
      ...metadata(key, entry),
      range,
      get body() {
        return new Response(copy).body!;
      },
      arrayBuffer: async () => copy.buffer.slice(copy.byteOffset, copy.byteOffset + copy.byteLength) as ArrayBuffer,
      text: async () => new TextDecoder().decode(copy),
    };
  }

  async put(
    key: string,
    value: ReadableStream | ArrayBuffer | ArrayBufferView | string,
    options: { httpMetadata?: { contentType?: string } } = {},
  ): Promise<void> {
    this.maybeFail("put");
    const bytes = new Uint8Array(await new Response(value as ConstructorParameters<typeof Response>[0]).arrayBuffer());
    this.objects.set(key, { bytes, contentType: options.httpMetadata?.contentType, uploaded: new Date() });
  }

  async delete(keys: string | string[]): Promise<void> {
    this.maybeFail("delete");
    const list = typeof keys === "string" ? [keys] : keys;
    if (list.length > 1000) throw new Error("memory bucket: at most 1000 keys per delete, as R2");
    for (const key of list) this.objects.delete(key);
  }

  async list(options: { prefix: string; cursor?: string; limit?: number }): Promise<ObjectListing> {
    this.maybeFail("list");
    const all = this.keys().filter((key) => key.startsWith(options.prefix) && (options.cursor === undefined || key > options.cursor));
    const page = all.slice(0, options.limit ?? 1000);
    const truncated = page.length < all.length;
    return {
      objects: page.map((key) => ({ key, size: this.objects.get(key)!.bytes.byteLength })),
      truncated,
      ...(truncated ? { cursor: page[page.length - 1] } : {}),
    };
  }
}

function metadata(key: string, entry: Entry): StoredObject {
  return {
    key,
    size: entry.bytes.byteLength,
    httpEtag: `"${key.length}-${entry.bytes.byteLength}"`,
    uploaded: entry.uploaded,
    writeHttpMetadata(headers: Headers) {
      if (entry.contentType) headers.set("content-type", entry.contentType);
    },
  };
}
