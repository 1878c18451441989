// Waiting on an event the test can observe (a line written, a row committed), instead of sleeping
// for a time tied to a constant of the code. Bounded by the test's own timeout.

export async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 10));
}

/** until(), failing with `describe()` when `check` is still false after `timeoutMs`. */
export async function untilWithin(check: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(describe());
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A clock that runs with real time and can be moved ahead: time-based rules without sleeping. */
export interface TestClock {
  now(): number;
  advance(ms: number): void;
}

export function testClock(): TestClock {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    advance: (ms) => {
      offset += ms;
    },
  };
}
