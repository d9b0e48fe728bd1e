// Work to do when this process exits (take down a child it started), behind one `exit` listener: a bench with 16
// publishers and their servers would otherwise add a listener each and trip Node's MaxListenersExceededWarning.

const hooks = new Set<() => void>();

function runHooks(): void {
  for (const hook of hooks) {
    try {
      hook();
    } catch {
      // one failing hook must not keep the others from running
    }
  }
}

/** Runs `hook` when this process exits; the returned function takes it back (once the child is gone). */
export function onProcessExit(hook: () => void): () => void {
  if (hooks.size === 0) process.on("exit", runHooks);
  hooks.add(hook);
  return () => {
    hooks.delete(hook);
    if (hooks.size === 0) process.off("exit", runHooks);
  };
}
