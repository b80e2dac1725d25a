/**
 * Smooth weighted round robin (the nginx algorithm): every pick adds each
 * eligible item's weight to its current score, takes the highest, and
 * subtracts the eligible total from it. Spreads a 1:2:3 split as
 * c b a b c c, never in bursts, and skips items that are down without
 * disturbing the others' shares.
 */
export class SmoothWeightedRoundRobin<T> {
  private readonly items: { item: T; weight: number; current: number }[];

  constructor(items: { item: T; weight: number }[]) {
    this.items = items.filter((i) => i.weight > 0).map(({ item, weight }) => ({ item, weight, current: 0 }));
  }

  get size(): number {
    return this.items.length;
  }

  next(eligible: (item: T) => boolean): T | undefined {
    let best: { item: T; weight: number; current: number } | undefined;
    let total = 0;
    for (const entry of this.items) {
      if (!eligible(entry.item)) continue;
      entry.current += entry.weight;
      total += entry.weight;
      if (!best || entry.current > best.current) best = entry;
    }
    if (!best) return undefined;
    best.current -= total;
    return best.item;
  }
}
