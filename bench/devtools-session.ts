// One DevTools protocol session over a WebSocket (a Node process's inspector, or one isolate of workerd's): calls by
// id, each answered or given up after a timeout. bench/node-heap.ts and bench/workerd-heap.ts read heaps through it.

/** An open session: `call` sends a method and resolves with its result (or its error object). */
export interface DevtoolsSession {
  readonly name: string;
  call<T>(method: string, params?: object): Promise<T>;
  close(): void;
}

/** Connects to `url` (refused or silent for 5 s: rejects); a call unanswered after `callTimeoutMs` rejects. */
export async function openDevtoolsSession(name: string, url: string, callTimeoutMs = 30_000): Promise<DevtoolsSession> {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error(`${name}: the inspector refused the connection`));
    setTimeout(() => reject(new Error(`${name}: no answer from ${url} in 5 s`)), 5_000).unref();
  }).catch((err: Error) => {
    ws.close();
    throw err;
  });
  let nextId = 0;
  const pending = new Map<number, (result: unknown) => void>();
  ws.onmessage = (message) => {
    const data = JSON.parse(String(message.data)) as { id?: number; result?: unknown; error?: unknown };
    if (data.id !== undefined) {
      pending.get(data.id)?.(data.result ?? data.error);
      pending.delete(data.id);
    }
  };
  return {
    name,
    call: <T>(method: string, params?: object) =>
      new Promise<T>((resolve, reject) => {
        nextId += 1;
        const id = nextId;
        pending.set(id, resolve as (result: unknown) => void);
        ws.send(JSON.stringify({ id, method, params }));
        setTimeout(() => {
          if (pending.delete(id)) reject(new Error(`${name}: ${method} unanswered after ${callTimeoutMs} ms`));
        }, callTimeoutMs).unref();
      }),
    close: () => ws.close(),
  };
}

/** `node <script> <pid> [interval s] [duration s]`'s arguments, or the usage line and exit 2 when the pid is missing. */
export function samplerArgs(usage: string, defaults: { intervalS: number; durationS: number }): { pid: number; intervalMs: number; endAt: number } {
  const [pidArg, intervalArg = String(defaults.intervalS), durationArg = String(defaults.durationS)] = process.argv.slice(2);
  if (!pidArg) {
    console.error(`usage: ${usage}`);
    process.exit(2);
  }
  return { pid: Number(pidArg), intervalMs: Number(intervalArg) * 1000, endAt: Date.now() + Number(durationArg) * 1000 };
}
