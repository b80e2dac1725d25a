/**
 * Redis keyspace notifications, as far as the provider relies on them. They
 * are off by default and often cannot be turned on (managed Redis refuses
 * CONFIG), so whether they are usable is asked, never assumed: the provider
 * falls back to listing the keys periodically when they are not.
 */

/** `K` (keyspace channel) with the classes a configuration write can come from: strings (`$`), generic (`g`: DEL, RENAME, EXPIRE) and expirations (`x`). `A` stands for every class. */
export function missingFlags(flags: string): string[] {
  const missing: string[] = [];
  if (!flags.includes('K')) missing.push('K');
  if (!flags.includes('A')) for (const c of ['$', 'g', 'x']) if (!flags.includes(c)) missing.push(c);
  return missing;
}

/** Escapes a literal for a Redis glob (SCAN MATCH, PSUBSCRIBE). */
export function globLiteral(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** The keyspace channel prefix of database `db`: a notification's channel is this plus the key. */
export const keyspacePrefix = (db: number): string => `__keyspace@${db}__:`;
