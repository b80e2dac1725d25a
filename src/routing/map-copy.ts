/**
 * A copy of a Map. `new Map(map)` goes through the map's iterator, which
 * makes a [key, value] array per entry: 10,000 of them for each table-wide
 * map a one-router change copies. forEach makes none.
 */
export function copyMap<K, V>(map: ReadonlyMap<K, V> | undefined): Map<K, V> {
  const copy = new Map<K, V>();
  map?.forEach((v, k) => copy.set(k, v));
  return copy;
}
