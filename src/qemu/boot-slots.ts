/**
 * At most `max` VMs booting at once, first come first served: under TCG every boot is CPU-bound, and more at
 * once only makes all of them slow. A key holds a slot from QEMU's start until its boot ends (or it goes away).
 */
export class BootSlots {
  readonly #max: number;
  readonly #holders = new Set<string>();
  readonly #waiting: string[] = [];

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) throw new Error(`at most ${max} VMs booting at once: must be a whole number ≥ 1`);
    this.#max = max;
  }

  /** True when `key` got a slot; otherwise it waits in line (its 1-based position is `waitingAt`). */
  request(key: string): boolean {
    if (this.#holders.has(key)) return true;
    if (this.#holders.size < this.#max && this.#waiting.length === 0) {
      this.#holders.add(key);
      return true;
    }
    if (!this.#waiting.includes(key)) this.#waiting.push(key);
    return false;
  }

  waitingAt(key: string): number {
    return this.#waiting.indexOf(key) + 1;
  }

  /** Gives up `key`'s slot or its place in line; returns the keys that got a slot because of it. */
  release(key: string): string[] {
    const queued = this.#waiting.indexOf(key);
    if (queued >= 0) this.#waiting.splice(queued, 1);
    this.#holders.delete(key);
    const granted: string[] = [];
    while (this.#holders.size < this.#max && this.#waiting.length > 0) {
      const next = this.#waiting.shift() ?? "";
      this.#holders.add(next);
      granted.push(next);
    }
    return granted;
  }
}
