// Exit hooks share one `exit` listener, however many children a bench starts at once.
import { describe, expect, it } from "vitest";
import { onProcessExit } from "../../../scripts/lib/exit-hooks.ts";

describe("onProcessExit", () => {
  it("adds one exit listener for any number of hooks and takes it back with the last", () => {
    const before = process.listenerCount("exit");
    const removers = Array.from({ length: 20 }, () => onProcessExit(() => {}));
    expect(process.listenerCount("exit")).toBe(before + 1);
    for (const remove of removers.slice(1)) remove();
    expect(process.listenerCount("exit")).toBe(before + 1);
    removers[0]!();
    expect(process.listenerCount("exit")).toBe(before);
  });

  it("runs every hook at exit, past one that throws", () => {
    const ran: number[] = [];
    const removeA = onProcessExit(() => {
      throw new Error("a child already gone");
    });
    const removeB = onProcessExit(() => ran.push(2));
    const listeners = process.listeners("exit");
    (listeners.at(-1) as (code: number) => void)(0);
    expect(ran).toEqual([2]);
    removeA();
    removeB();
  });
});
