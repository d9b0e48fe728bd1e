// Abusive clients of an RTMP port (garbage, stalled handshakes, a slowloris): opened by a test, each recording when
// the server dropped it, so the test can check that none was held open too long.
import { connect, type Socket } from "node:net";

/** One abusive connection: when it opened, when the server closed it (null while open), and its write timer if any. */
export interface AbusiveConnection {
  name: string;
  socket: Socket;
  openedAt: number;
  closedAt: number | null;
  timer?: NodeJS.Timeout;
}

/** The abusive connections to one RTMP port. */
export interface RtmpAbuse {
  /** Every connection opened so far. */
  sockets: AbusiveConnection[];
  /** Connects as `name`; once connected runs `onConnect`, whose returned interval (if any) is cleared on close. */
  // biome-ignore lint/suspicious/noConfusingVoidType: onConnect may be any void callback or return an interval; `undefined` would reject the void ones
  open(name: string, onConnect: (socket: Socket) => NodeJS.Timeout | void): void;
  /** Clears every timer and destroys every socket. */
  closeAll(): void;
}

/** An empty set of abusive connections to `host`:`port` (errors and incoming data are ignored). */
export function rtmpAbuse(host: string, port: number): RtmpAbuse {
  const sockets: AbusiveConnection[] = [];
  return {
    sockets,
    open(name, onConnect) {
      const socket = connect({ host, port });
      const entry: AbusiveConnection = { name, socket, openedAt: Date.now(), closedAt: null };
      socket.on("error", () => {});
      socket.on("data", () => {});
      socket.once("close", () => {
        entry.closedAt = Date.now();
        clearInterval(entry.timer);
      });
      socket.once("connect", () => {
        const timer = onConnect(socket);
        if (timer) entry.timer = timer;
      });
      sockets.push(entry);
    },
    closeAll() {
      for (const s of sockets) {
        clearInterval(s.timer);
        s.socket.destroy();
      }
    },
  };
}
