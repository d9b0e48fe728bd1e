// Memory for the FLV tags of publishers' media frames, handed back by the remuxer once a frame is in its fragment and
// lent out again for later frames. Why: every frame was a new buffer, and V8 counts buffer memory toward its next full
// garbage collection; a passthrough node's mark-compacts were most of its CPU beyond the copying itself.

/** Most bytes the pool keeps for reuse by default (RTMP_TAG_POOL_MB; buffers handed back past it are left to the garbage collector). */
export const FLV_TAG_POOL_MAX_BYTES = 8 * 1024 * 1024;
/** The smallest buffer the pool lends (an AAC frame's tag is a few hundred bytes). */
const MIN_CLASS_BYTES = 512;
/** Size classes per doubling: a tag's buffer is at most 2^(1/4) (19 %) larger than the tag. */
const CLASSES_PER_DOUBLING = 4;

/** The size of the class that holds `size` bytes. */
export function tagClassBytes(size: number): number {
  if (size <= MIN_CLASS_BYTES) return MIN_CLASS_BYTES;
  let step = Math.ceil(Math.log2(size / MIN_CLASS_BYTES) * CLASSES_PER_DOUBLING);
  let bytes = classBytes(step);
  // Floating point may land a step short.
  while (bytes < size) bytes = classBytes(++step);
  return bytes;
}

function classBytes(step: number): number {
  return Math.ceil(MIN_CLASS_BYTES * 2 ** (step / CLASSES_PER_DOUBLING));
}

/** Marks a buffer the pool lent and that is out (a property of its own: a WeakSet costs the garbage collector). */
const LENT = Symbol("lent by the FLV tag pool");
type Lendable = ArrayBuffer & { [LENT]?: boolean };

/**
 * Lends unfilled buffers by size class and takes them back. Only buffers it lent and that are out are taken back (a
 * buffer given back twice, or one it never lent, is ignored), and it keeps at most `maxBytes` of them.
 */
export class FlvTagPool {
  #maxBytes: number;
  readonly #free = new Map<number, Lendable[]>();
  #freeBytes = 0;
  #reused = 0;

  constructor(maxBytes = FLV_TAG_POOL_MAX_BYTES) {
    this.#maxBytes = maxBytes;
  }

  /** Keeps at most `maxBytes` from now on (RTMP_TAG_POOL_MB; 0: none), letting go of what it holds beyond them. */
  setMaxBytes(maxBytes: number): void {
    this.#maxBytes = maxBytes;
    for (const [bytes, list] of this.#free) {
      while (this.#freeBytes > maxBytes && list.pop()) this.#freeBytes -= bytes;
    }
  }

  /** Bytes kept for reuse now. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /** Buffers lent out again so far (instead of allocated). */
  get reused(): number {
    return this.#reused;
  }

  /** `size` unfilled bytes, in a buffer of their own (a reused one when the pool holds one of that class). */
  take(size: number): Buffer {
    const bytes = tagClassBytes(size);
    const buffer = this.#free.get(bytes)?.pop();
    let backing: Lendable;
    if (buffer) {
      this.#freeBytes -= bytes;
      this.#reused++;
      backing = buffer;
    } else backing = new ArrayBuffer(bytes);
    backing[LENT] = true;
    return Buffer.from(backing, 0, size);
  }

  /** Takes back the buffer `view` lies in, when the pool lent it and it is out; nothing may use `view` afterwards. */
  release(view: Uint8Array): void {
    const backing = view.buffer as Lendable;
    if (backing[LENT] !== true) return;
    backing[LENT] = false;
    if (this.#freeBytes + backing.byteLength > this.#maxBytes) return;
    const list = this.#free.get(backing.byteLength) ?? [];
    list.push(backing);
    this.#free.set(backing.byteLength, list);
    this.#freeBytes += backing.byteLength;
  }
}

/** The node's pool for media frames' FLV tags (nms.ts lends, the native remux gives back). */
export const flvTagPool = new FlvTagPool();
