import { describe, expect, it } from "vitest";
import { grownStacks, type HeapWalk, stacksOf, symbolOf } from "../../../bench/tcmalloc-heap.ts";

const table = {
  addresses: [0x100, 0x200, 0x300, 0x400],
  names: [
    "__sized_ptr_t tcmalloc::tcmalloc_internal::SampleifyAllocation<Policy>(...)",
    "operator new(unsigned long)",
    "workerd::IoContext::TimeoutManagerImpl::addState()",
    "workerd::api::ServiceWorkerGlobalScope::setTimeout()",
  ],
};

/** A walk of workerd loaded at 0x5000 whose samples have the given sizes and stacks (binary addresses). */
function walk(samples: [number, number[]][]): HeapWalk {
  return { binary: "/bin/workerd", loadBase: 0x5000, samples: samples.map(([bytes, stack]) => ({ bytes, stack: stack.map((a) => a + 0x5000) })) };
}

describe("tcmalloc heap profile", () => {
  it("names the function an address falls in, and shows an address below every symbol in hex", () => {
    expect(symbolOf(table, 0x300)).toBe("workerd::IoContext::TimeoutManagerImpl::addState()");
    expect(symbolOf(table, 0x3ff)).toBe("workerd::IoContext::TimeoutManagerImpl::addState()");
    expect(symbolOf(table, 0x9999)).toBe("workerd::api::ServiceWorkerGlobalScope::setTimeout()");
    expect(symbolOf(table, 0x50)).toBe("0x50");
  });

  it("keys stacks past the allocator's frames, counts only the asked sizes, and ranks the stacks that grew", () => {
    const timer = [0x110, 0x210, 0x310, 0x410];
    const other = [0x110, 0x410];
    const before = walk([
      [176, timer],
      [176, other],
      [4096, timer],
    ]);
    const after = walk([
      [176, timer],
      [176, timer],
      [176, timer],
      [176, other],
      [64, timer],
    ]);
    const a = stacksOf(before, table, 161, 176);
    const b = stacksOf(after, table, 161, 176);
    expect([...b.keys()]).toContain("workerd::IoContext::TimeoutManagerImpl::addState()\nworkerd::api::ServiceWorkerGlobalScope::setTimeout()");
    const [first, second] = grownStacks(a, b, 2);
    expect(first).toEqual({
      stack: "workerd::IoContext::TimeoutManagerImpl::addState()\nworkerd::api::ServiceWorkerGlobalScope::setTimeout()",
      before: 1,
      after: 3,
    });
    expect(second).toEqual({ stack: "workerd::api::ServiceWorkerGlobalScope::setTimeout()", before: 1, after: 1 });
  });
});
