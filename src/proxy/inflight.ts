// Requests that started and have not yet written their decision line.

export class InflightCounter {
  #count = 0;
  #idle: (() => void)[] = [];
  get count(): number {
    return this.#count;
  }
  enter(): void {
    this.#count++;
  }
  leave(): void {
    if (--this.#count === 0) for (const r of this.#idle.splice(0)) r();
  }
  /** Resolves once every request that started has written its audit record. */
  idle(): Promise<void> {
    return this.#count === 0 ? Promise.resolve() : new Promise((r) => this.#idle.push(r));
  }
}
