// The SRT listener's thread: owns libsrt (one UDP port, many callers), asks the main thread about each caller's key,
// and forwards what accepted callers send. Runs in a worker_thread so the main event loop never blocks on libsrt.
import { parentPort, workerData } from "node:worker_threads";
import { describeAddress, describeAddressBytes, intOption, ipv4Address, loadLibsrt, SRT_EPOLL, SRT_ERR, SRT_REJECT, SRTO } from "./libsrt.ts";
import { AUTH_SLOT, decodeVerdict, type ListenerSettings, type MainToWorker, type WorkerToMain } from "./srt-messages.ts";
import { parseStreamId } from "./stream-id.ts";

/** Most bytes one SRT live-mode message carries (MTU 1500 - UDP 28 - SRT header 16). */
const MAX_MESSAGE_BYTES = 1456;
/**
 * Longest wait for sockets to be ready. Why long: the wait returns as soon as a caller connects or data arrives, and
 * the main thread's messages are handled while it runs (libsrt's calls are thread-safe), so an idle listener only
 * pays for waking up; at 50 ms the wake-ups cost an idle node more CPU than the rest of it. "stop" ends a wait at once.
 */
const EPOLL_WAIT_MS = 1_000;
/** Most sockets reported by one epoll wait. */
const EPOLL_CAPACITY = 256;
/** LOG_CRIT: libsrt would otherwise print a warning for every rejected caller, an error for every empty accept. */
const LOG_CRIT = 2;

const settings = workerData as ListenerSettings;
const port = parentPort!;
const post = (message: WorkerToMain, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

const srt = loadLibsrt();
srt.setLogLevel(LOG_CRIT);
srt.startup();
const auth = new Int32Array(settings.authBuffer);
/** Accepted data sockets, and callers accepted by the hook whose handshake is not complete yet. */
const open = new Set<number>();
const pending = new Set<number>();
let accepting = true;
let stopping = false;
let nextRequest = 1;

function fail(what: string): never {
  throw new Error(`${what}: ${srt.lastErrorText()}`);
}

const listener = srt.createSocket();
if (listener < 0) fail("srt_create_socket");
for (const [option, value] of [
  [SRTO.RCVSYN, 0],
  [SRTO.LATENCY, settings.latencyMs],
  [SRTO.PEERIDLETIMEO, settings.peerIdleTimeoutMs],
] as const) {
  if (srt.setFlag(listener, option, intOption(value), 4) !== 0) fail(`setting option ${option}`);
}
if (settings.passphrase) {
  // Accepted sockets inherit the listener's passphrase: a caller without it (or with another) cannot connect.
  const passphrase = Buffer.from(settings.passphrase);
  if (srt.setFlag(listener, SRTO.PASSPHRASE, passphrase, passphrase.length) !== 0) fail("setting the passphrase");
}
if (srt.bind(listener, ipv4Address(settings.host, settings.port), 16) !== 0) fail(`binding ${settings.host}:${settings.port} (UDP)`);
if (srt.listen(listener, settings.backlog) !== 0) fail("srt_listen");

/**
 * libsrt calls this on its receiving thread for every new caller, before answering the handshake, and takes the
 * answer synchronously; koffi runs it here (this worker's JS thread) and holds libsrt's thread until it returns. The
 * key check is an HTTP call on the main thread, so this thread waits for the verdict with Atomics.wait on a shared
 * slot, bounded by authTimeoutMs. Callers are checked one at a time (libsrt's thread waits meanwhile: the handshake
 * check delays, but does not drop, packets of live callers; the kernel holds them).
 */
const unhook = srt.listenCallback(listener, (_opaque, socket, _hsVersion, peer, streamId) => {
  const from = describeAddress(peer);
  const reject = (reason: number, why: string) => {
    srt.setRejectReason(socket, reason);
    post({ type: "refused", reason: why, from });
    return -1;
  };
  if (!accepting) return reject(SRT_REJECT.UNAVAILABLE, "draining");
  if (open.size + pending.size >= settings.maxConnections) return reject(SRT_REJECT.OVERLOAD, "capacity");
  const request = parseStreamId(streamId);
  if (!request.ok) return reject(request.problem === "not-publish" ? SRT_REJECT.BAD_MODE : SRT_REJECT.UNAUTHORIZED, `streamid ${request.problem}`);
  const id = nextRequest++;
  if (nextRequest > 0x3fffffff) nextRequest = 1;
  Atomics.store(auth, AUTH_SLOT, id);
  post({ type: "authorize", request: id, socket, key: request.key, from });
  Atomics.wait(auth, AUTH_SLOT, id, settings.authTimeoutMs);
  // Whoever swaps the slot first decides: the main thread with a verdict, or this thread giving up.
  const value = Atomics.compareExchange(auth, AUTH_SLOT, id, 0);
  if (value === id) return reject(SRT_REJECT.UNAVAILABLE, "edge timeout");
  const verdict = decodeVerdict(value);
  if (verdict !== 0) {
    srt.setRejectReason(socket, verdict);
    return -1;
  }
  pending.add(socket);
  return 0;
});

const epoll = srt.epollCreate();
srt.epollAdd(epoll, listener, new Int32Array([SRT_EPOLL.IN | SRT_EPOLL.ERR]));
const events = new Int32Array(EPOLL_CAPACITY * 2);
const receive = Buffer.alloc(MAX_MESSAGE_BYTES);

function acceptAll(): void {
  for (;;) {
    const address = Buffer.alloc(128);
    const length = new Int32Array([128]);
    const socket = srt.accept(listener, address, length);
    if (socket < 0) return;
    pending.delete(socket);
    if (stopping) {
      srt.close(socket);
      continue;
    }
    open.add(socket);
    srt.epollAdd(epoll, socket, new Int32Array([SRT_EPOLL.IN | SRT_EPOLL.ERR]));
    post({ type: "accepted", socket, from: describeAddressBytes(address) });
  }
}

function closeSocket(socket: number, reason: string | null): void {
  // A caller accepted by the key check whose handshake never completed: its slot is freed here.
  if (pending.delete(socket)) {
    srt.close(socket);
    return;
  }
  if (!open.delete(socket)) return;
  srt.epollRemove(epoll, socket);
  srt.close(socket);
  if (reason !== null) post({ type: "closed", socket, reason });
}

/** Reads everything `socket` has ready and posts it as one chunk; closes it once the caller is gone. */
function drain(socket: number): void {
  const chunks: Buffer[] = [];
  let ended: string | null = null;
  for (;;) {
    const n = srt.recvmsg(socket, receive, MAX_MESSAGE_BYTES);
    if (n > 0) {
      chunks.push(Buffer.from(receive.subarray(0, n)));
      continue;
    }
    if (n < 0) {
      const code = srt.lastError(null);
      if (code !== SRT_ERR.ASYNC_RECEIVE) ended = code === SRT_ERR.CONNECTION_LOST ? "connection closed" : `receive failed: ${srt.lastErrorText()}`;
    }
    break;
  }
  if (chunks.length > 0) {
    const data = Buffer.concat(chunks);
    const bytes = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
    post({ type: "data", socket, bytes }, [bytes]);
  }
  if (ended !== null) closeSocket(socket, ended);
}

port.on("message", (message: MainToWorker) => {
  if (message.type === "close") closeSocket(message.socket, null);
  else if (message.type === "pause") accepting = false;
  else if (message.type === "stop") {
    stopping = true;
    // Releasing the epoll ends the wait in progress (it returns -1) instead of after up to EPOLL_WAIT_MS.
    srt.epollRelease(epoll);
  }
});

post({ type: "listening" });

async function loop(): Promise<void> {
  while (!stopping) {
    const ready = await srt.epollWaitAsync(epoll, events, EPOLL_CAPACITY, EPOLL_WAIT_MS);
    for (let i = 0; i < ready; i++) {
      const socket = events[2 * i]!;
      if (socket === listener) acceptAll();
      else if (open.has(socket)) drain(socket);
    }
    // Let a burst of the main thread's messages in before the next wait (they are also handled during one).
    await new Promise((resolve) => setImmediate(resolve));
  }
  for (const socket of [...open]) closeSocket(socket, "node shutting down");
  unhook();
  srt.close(listener);
  srt.cleanup();
  post({ type: "stopped" });
  port.close();
}

void loop();
