// A minimal HTTP/1.1 GET over a raw TCP socket, for load generators that hold thousands of requests at once: Node's
// http client costs ~50 µs of this process's CPU per answer (IncomingMessage, stream plumbing), which on a 2-core machine
// would be measured as the server's delay. This one parses only the status line and the body's length.
import { connect, type Socket } from "node:net";
import { dechunk } from "./http-chunked.ts";

/** What came back. */
export interface RawAnswer {
  status: number;
  body: string;
}

/** A request in flight. */
export interface RawRequest {
  socket: Socket;
  /** Resolves with the answer, or rejects on a socket error, a malformed answer or `timeoutMs`. */
  answer: Promise<RawAnswer>;
  /** Resolves once the request bytes were handed to the kernel. */
  written: Promise<void>;
}

/** Sends `GET path` to host:port on a new connection (the caller closes `socket` once done with the answer). */
export function rawGet(host: string, port: number, path: string, timeoutMs = 20_000, headers: Record<string, string> = {}): RawRequest {
  const socket = connect(port, host);
  socket.on("connect", () => send());
  const { answer, written, send } = exchange(socket, host, port, path, timeoutMs, headers);
  return { socket, answer, written };
}

/** A connection opened now, with its request sent only when `send()` is called (to time answers apart from
 *  connection set-up). */
export function rawPreconnected(host: string, port: number, path: string, timeoutMs = 20_000): RawRequest & { connected: Promise<void>; send: () => void } {
  const socket = connect(port, host);
  const connected = new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  return { socket, connected, ...exchange(socket, host, port, path, timeoutMs) };
}

function exchange(
  socket: Socket,
  host: string,
  port: number,
  path: string,
  timeoutMs: number,
  headers: Record<string, string> = {},
): { answer: Promise<RawAnswer>; written: Promise<void>; send: () => void } {
  socket.setNoDelay(true);
  socket.setEncoding("latin1");
  let written: () => void = () => undefined;
  const writtenPromise = new Promise<void>((resolve) => (written = resolve));
  const answer = new Promise<RawAnswer>((resolve, reject) => {
    let buffer = "";
    let settled = false;
    const finish = (error: Error | null, result?: RawAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      written();
      // On success the connection stays open, as a player's keep-alive connection does, until the caller closes it:
      // closing a thousand connections while the other answers are still going out costs the server ~30 µs each of
      // the very thread that writes those answers, and would be measured as its delay.
      if (error) {
        socket.destroy();
        reject(error);
      } else resolve(result!);
    };
    const timer = setTimeout(() => finish(new Error("timeout")), timeoutMs);
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      const headEnd = buffer.indexOf("\r\n\r\n");
      if (headEnd < 0) return;
      const head = buffer.slice(0, headEnd);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? NaN);
      if (Number.isNaN(status)) return finish(new Error(`malformed answer: ${head.slice(0, 80)}`));
      const body = buffer.slice(headEnd + 4);
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (length) {
        if (body.length >= Number(length[1])) finish(null, { status, body: body.slice(0, Number(length[1])) });
      } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
        if (body.endsWith("0\r\n\r\n")) finish(null, { status, body: dechunk(body) });
      }
    });
    socket.on("end", () => {
      const headEnd = buffer.indexOf("\r\n\r\n");
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(buffer)?.[1] ?? NaN);
      if (headEnd >= 0 && !Number.isNaN(status)) finish(null, { status, body: buffer.slice(headEnd + 4) });
      else finish(new Error("connection closed before an answer"));
    });
    socket.on("error", (err) => finish(err));
  });
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("");
  const send = () => void socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\n${extra}\r\n`, () => written());
  return { answer, written: writtenPromise, send };
}
