/** A small seeded PRNG for the webhook's fuzzer: the same seed gives the same cases on every machine. */

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number;
  chance(probability: number): boolean;
  pick<T>(items: readonly T[]): T;
  string(length: number, alphabet?: string): string;
}

const LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789";

/** mulberry32: 32 bits of state, full period, good enough to spread test cases (not for anything secret). */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  return {
    next,
    int,
    chance: (probability) => next() < probability,
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new Error("pick from an empty list");
      return items[int(0, items.length - 1)] as T;
    },
    string: (length, alphabet = LOWER_ALNUM) => Array.from({ length }, () => alphabet[int(0, alphabet.length - 1)]).join(""),
  };
}

/** The seed of case `index` of a run seeded with `seed`: each case can be regenerated alone. */
export function caseSeed(seed: number, index: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
}
