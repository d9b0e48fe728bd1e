// The part of an R2 bucket the media store uses, spelled out without Worker types, so R2 (env.MEDIA) and the
// in-memory bucket of unit tests (memory-bucket.ts) both satisfy it and the store runs on either.

/** A byte range of an object: from `offset` (`length` bytes, or to the end), or its last `suffix` bytes. */
export type ByteRange = { offset: number; length?: number } | { offset?: number; length: number } | { suffix: number };

/** An object's metadata (R2's R2Object, as far as the store reads it). */
export interface StoredObject {
  readonly key: string;
  readonly size: number;
  readonly httpEtag: string;
  readonly uploaded: Date;
  /** The range a ranged read returned. */
  readonly range?: ByteRange;
  writeHttpMetadata(headers: Headers): void;
}

/** An object with its bytes (R2's R2ObjectBody). */
export interface StoredBody extends StoredObject {
  readonly body: ReadableStream;
  arrayBuffer(): Promise<ArrayBuffer>;
  text(): Promise<string>;
}

/** What one page of a listing holds. */
export interface ObjectListing {
  objects: { key: string; size: number }[];
  truncated: boolean;
  cursor?: string;
}

/** An object store with R2's semantics: whole-object writes, ranged and conditional reads, batched deletes. */
export interface ObjectBucket {
  head(key: string): Promise<StoredObject | null>;
  /** `range`/`onlyIf` may be a request's headers (R2 reads Range, If-None-Match, ... from them). */
  get(key: string, options?: { range?: ByteRange | Headers; onlyIf?: Headers }): Promise<StoredBody | StoredObject | null>;
  put(key: string, value: ReadableStream | ArrayBuffer | ArrayBufferView | string, options?: { httpMetadata?: { contentType?: string } }): Promise<unknown>;
  /** At most 1000 keys per call. */
  delete(keys: string | string[]): Promise<void>;
  list(options: { prefix: string; cursor?: string; limit?: number }): Promise<ObjectListing>;
}
