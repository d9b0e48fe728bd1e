// The reference SRT library (Haivision libsrt, Debian's libsrt1.5-openssl) through koffi: the only module that calls it.
import koffi, { type LibraryHandle } from "koffi";

/** libsrt's shared object names, tried in order (OpenSSL build first, then the GnuTLS one FFmpeg links). */
const LIBRARY_NAMES = ["libsrt.so.1.5", "libsrt-gnutls.so.1.5", "libsrt.so"];

/** Socket options used here (SRT_SOCKOPT in srt.h). */
export const SRTO = {
  RCVSYN: 2,
  REUSEADDR: 15,
  LATENCY: 23,
  PASSPHRASE: 26,
  RCVLATENCY: 43,
  STREAMID: 46,
  TRANSTYPE: 50,
  PEERIDLETIMEO: 55,
} as const;

/** Epoll event flags (SRT_EPOLL_OPT). */
export const SRT_EPOLL = { IN: 0x1, OUT: 0x4, ERR: 0x8 } as const;

/** Error codes (SRT_ERRNO) the node tells apart. */
export const SRT_ERR = { ASYNC_RECEIVE: 6002, INVALID_SOCKET: 5004, CONNECTION_LOST: 2001, NO_CONNECTION: 2002 } as const;

/**
 * Rejection reasons a listener may send back in the handshake (SRT_REJX_*, docs/features/access-control.md): the
 * caller sees them as its connection's reject reason (srt_getrejectreason), e.g. srt-live-transmit prints them.
 */
export const SRT_REJECT = {
  BAD_REQUEST: 1400,
  UNAUTHORIZED: 1401,
  OVERLOAD: 1402,
  FORBIDDEN: 1403,
  BAD_MODE: 1405,
  CONFLICT: 1409,
  UNAVAILABLE: 1503,
} as const;

/** The signature of srt_listen_callback's hook: return 0 to accept the caller, -1 to reject it. */
export type ListenHook = (opaque: unknown, socket: number, hsVersion: number, peer: bigint | null, streamId: string | null) => number;

/** libsrt's functions bound with koffi (signatures from srt.h; SRTSOCKET is an int). */
export interface Libsrt {
  startup(): number;
  cleanup(): number;
  createSocket(): number;
  setFlag(socket: number, option: number, value: Buffer, length: number): number;
  bind(socket: number, address: Buffer, length: number): number;
  listen(socket: number, backlog: number): number;
  accept(socket: number, address: Buffer, length: Int32Array): number;
  connect(socket: number, address: Buffer, length: number): number;
  close(socket: number): number;
  recvmsg(socket: number, buffer: Buffer, length: number): number;
  sendmsg(socket: number, buffer: Buffer, length: number, ttl: number, inorder: number): number;
  rejectReason(socket: number): number;
  setRejectReason(socket: number, reason: number): number;
  lastError(errno: null): number;
  lastErrorText(): string;
  clearLastError(): void;
  epollCreate(): number;
  epollAdd(epoll: number, socket: number, events: Int32Array): number;
  epollRemove(epoll: number, socket: number): number;
  epollRelease(epoll: number): number;
  /** Waits (on a koffi pool thread, so the calling JS thread stays free) for up to `timeoutMs`; events as {fd, events} pairs. */
  epollWaitAsync(epoll: number, events: Int32Array, capacity: number, timeoutMs: number): Promise<number>;
  listenCallback(socket: number, hook: ListenHook): () => void;
  setLogLevel(level: number): void;
}

let loaded: Libsrt | null = null;

/** Loads libsrt once; throws an Error saying what to install when it is missing. */
export function loadLibsrt(): Libsrt {
  if (loaded) return loaded;
  let lib: LibraryHandle | null = null;
  const failures: string[] = [];
  for (const name of LIBRARY_NAMES) {
    try {
      lib = koffi.load(name);
      break;
    } catch (err) {
      failures.push((err as Error).message.split("\n")[0]!);
    }
  }
  if (!lib) throw new Error(`libsrt not found (install it: apt-get install libsrt1.5-openssl): ${failures.join("; ")}`);
  const Hook = koffi.proto("int SrtListenHook(void *opaque, int ns, int hsversion, void *peeraddr, const char *streamid)");
  const registerHook = lib.func("int srt_listen_callback(int lsn, SrtListenHook *hook, void *opaque)");
  const epollWait = lib.func("int srt_epoll_uwait(int eid, _Out_ int32_t *fdsSet, int fdsSize, int64_t msTimeOut)");
  const errorText = lib.func("const char *srt_getlasterror_str()");
  loaded = {
    startup: lib.func("int srt_startup()"),
    cleanup: lib.func("int srt_cleanup()"),
    createSocket: lib.func("int srt_create_socket()"),
    setFlag: lib.func("int srt_setsockflag(int u, int opt, const void *optval, int optlen)"),
    bind: lib.func("int srt_bind(int u, const void *name, int namelen)"),
    listen: lib.func("int srt_listen(int u, int backlog)"),
    accept: lib.func("int srt_accept(int u, _Out_ void *addr, _Inout_ int32_t *addrlen)"),
    connect: lib.func("int srt_connect(int u, const void *name, int namelen)"),
    close: lib.func("int srt_close(int u)"),
    recvmsg: lib.func("int srt_recvmsg(int u, _Out_ void *buf, int len)"),
    sendmsg: lib.func("int srt_sendmsg(int u, const void *buf, int len, int ttl, int inorder)"),
    rejectReason: lib.func("int srt_getrejectreason(int sock)"),
    setRejectReason: lib.func("int srt_setrejectreason(int sock, int value)"),
    lastError: lib.func("int srt_getlasterror(int *errno_loc)"),
    lastErrorText: () => String(errorText() ?? ""),
    clearLastError: lib.func("void srt_clearlasterror()"),
    epollCreate: lib.func("int srt_epoll_create()"),
    epollAdd: lib.func("int srt_epoll_add_usock(int eid, int u, const int32_t *events)"),
    epollRemove: lib.func("int srt_epoll_remove_usock(int eid, int u)"),
    epollRelease: lib.func("int srt_epoll_release(int eid)"),
    epollWaitAsync: (epoll, events, capacity, timeoutMs) =>
      new Promise((resolve, reject) => epollWait.async(epoll, events, capacity, timeoutMs, (err: Error | null, n: number) => (err ? reject(err) : resolve(n)))),
    listenCallback: (socket, hook) => {
      // Why registered (not transient): libsrt keeps the pointer and calls it from its receiving thread later; koffi
      // queues that call to the JS thread that registered it and blocks libsrt's thread until it returns.
      const pointer = koffi.register(hook, koffi.pointer(Hook));
      if (registerHook(socket, pointer, null) !== 0) {
        koffi.unregister(pointer);
        throw new Error(`srt_listen_callback: ${String(errorText() ?? "")}`);
      }
      return () => koffi.unregister(pointer);
    },
    setLogLevel: lib.func("void srt_setloglevel(int ll)"),
  };
  return loaded;
}

/** An IPv4 sockaddr_in for `host:port` (the listener binds IPv4, as the RTMP listener does). */
export function ipv4Address(host: string, port: number): Buffer {
  const parts = host.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${host}`);
  const address = Buffer.alloc(16);
  address.writeUInt16LE(2, 0); // AF_INET, host byte order (little-endian on the platforms Debian ships libsrt for)
  address.writeUInt16BE(port, 2);
  for (const [i, part] of parts.entries()) address[4 + i] = part;
  return address;
}

/** `ip:port` of a sockaddr (IPv4 or IPv6) at `pointer`, or "unknown". */
export function describeAddress(pointer: bigint | null): string {
  if (!pointer) return "unknown";
  const bytes = Buffer.from(koffi.view(pointer, 28));
  return describeAddressBytes(bytes);
}

/** `ip:port` of sockaddr bytes (IPv4 or IPv6), or "unknown". */
export function describeAddressBytes(bytes: Buffer): string {
  const family = bytes.readUInt16LE(0);
  const port = bytes.readUInt16BE(2);
  if (family === 2) return `${bytes[4]}.${bytes[5]}.${bytes[6]}.${bytes[7]}:${port}`;
  if (family === 10 && bytes.length >= 24) {
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) groups.push(bytes.readUInt16BE(8 + 2 * i).toString(16));
    return `[${groups.join(":")}]:${port}`;
  }
  return "unknown";
}

/** An int option value as libsrt's setsockflag wants it (int32, host order). */
export function intOption(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32LE(value, 0);
  return buffer;
}
