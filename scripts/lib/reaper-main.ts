// The watchdog program of `npm start` (run by reaper.ts, never by hand): its stdin is a pipe from the start script,
// on which it learns the process groups and pids to take down. When the pipe reaches EOF — the start script exited,
// however it died (SIGKILL, a closed terminal, a crash) — it stops them all: SIGINT, again after 1 s, SIGKILL after 3 s.
// Erasable TypeScript only (Node strips the types): it runs on the same Node as the start script, with no build step.

const groups = new Set<number>();
const pids = new Set<number>();
const parent = process.ppid;
let reaping = false;

function alive(target: number): boolean {
  try {
    process.kill(target, 0);
    return true;
  } catch {
    return false;
  }
}

function signalAll(signal: NodeJS.Signals): boolean {
  let any = false;
  for (const pgid of groups) {
    if (!alive(-pgid)) continue;
    any = true;
    try {
      process.kill(-pgid, signal);
    } catch {
      // gone meanwhile
    }
  }
  for (const pid of pids) {
    if (!alive(pid)) continue;
    any = true;
    try {
      process.kill(pid, signal);
    } catch {
      // gone meanwhile
    }
  }
  return any;
}

function reap(): void {
  if (reaping) return;
  reaping = true;
  if (!signalAll("SIGINT")) process.exit(0);
  setTimeout(() => signalAll("SIGINT"), 1000);
  setTimeout(() => {
    signalAll("SIGKILL");
    process.exit(0);
  }, 3000);
  // Done early once everything is gone.
  setInterval(() => {
    if (![...groups].some((pgid) => alive(-pgid)) && ![...pids].some(alive)) process.exit(0);
  }, 100);
}

let buffered = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk: string) => {
  buffered += chunk;
  const lines = buffered.split("\n");
  buffered = lines.pop() ?? "";
  for (const line of lines) {
    // "+g<pgid>", "-g<pgid>", "+p<pid>", "-p<pid>"
    const match = /^([+-])([gp])(\d+)$/.exec(line.trim());
    if (!match) continue;
    const set = match[2] === "g" ? groups : pids;
    const id = Number(match[3]);
    if (id <= 1) continue;
    if (match[1] === "+") set.add(id);
    else set.delete(id);
  }
});
process.stdin.on("end", reap);
process.stdin.on("error", reap);
// A second line of defence: if the pipe were held open by a stray descendant, a reparented watchdog still notices.
setInterval(() => {
  if (process.ppid !== parent || !alive(parent)) reap();
}, 500);
// Terminal signals are the start script's to handle; this process only follows it.
for (const signal of ["SIGINT", "SIGHUP", "SIGTERM"] as const) process.on(signal, () => undefined);
