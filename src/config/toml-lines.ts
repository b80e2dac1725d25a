/**
 * The line of every key, table header and array element of a TOML
 * document, by dotted path as spelt (`http.services.s.loadBalancer.servers.1.url`)
 * and lower-cased: smol-toml gives values, not positions. It runs only on a
 * document smol-toml accepted, so it needs no checks: string contents and
 * scalars are skipped, and a key it spells differently (escapes in a quoted
 * key) only makes a look-up fall back to the parent's line.
 */
export class TomlLines {
  private readonly exact = new Map<string, number>();
  private readonly folded = new Map<string, number>();
  /** Elements so far of each array of tables (`[[a]]`), by lower-cased resolved path. */
  private readonly arrays = new Map<string, number>();
  private at = 0;
  private line = 1;
  /** Of the first key or table: where an error about the whole document is. */
  private first?: number;

  constructor(private readonly text: string) {
    let table: string[] = [];
    for (;;) {
      this.skipSpace(true);
      if (this.at >= text.length) break;
      this.first ??= this.line;
      if (this.peek() === '[') table = this.header();
      else this.keyValue(table);
      this.skipSpace(false);
      // Anything left on the line (there is nothing in valid TOML) must not stall the scan.
      if (this.at < text.length && this.peek() !== '\n') this.advance();
    }
  }

  /** The line of the longest prefix of `segs` found, its exact spelling first: a key given in two spellings is reported at the one named. */
  lineOf(segs: string[]): number | undefined {
    for (let n = segs.length; n > 0; n--) {
      const key = segs.slice(0, n).join('.');
      const line = this.exact.get(key) ?? this.folded.get(key.toLowerCase());
      if (line !== undefined) return line;
    }
    return this.first;
  }

  private peek(): string {
    return this.text[this.at] ?? '';
  }

  private advance(n = 1): void {
    for (const end = this.at + n; this.at < end && this.at < this.text.length; this.at++) if (this.text[this.at] === '\n') this.line++;
  }

  private record(path: string[]): void {
    const key = path.join('.');
    if (!this.exact.has(key)) this.exact.set(key, this.line);
    if (!this.folded.has(key.toLowerCase())) this.folded.set(key.toLowerCase(), this.line);
  }

  private skipSpace(newlines: boolean): void {
    for (;;) {
      const c = this.peek();
      if (c === ' ' || c === '\t' || c === '\r' || (newlines && c === '\n')) this.advance();
      else if (c === '#') while (this.at < this.text.length && this.peek() !== '\n') this.advance();
      else return;
    }
  }

  /** Skips a string of any of TOML's four kinds and returns its raw content. */
  private skipString(): string {
    const quote = this.peek();
    const delimiter = this.text.startsWith(quote.repeat(3), this.at) ? quote.repeat(3) : quote;
    this.advance(delimiter.length);
    const start = this.at;
    while (this.at < this.text.length && !this.text.startsWith(delimiter, this.at)) this.advance(quote === '"' && this.peek() === '\\' ? 2 : 1);
    const content = this.text.slice(start, this.at);
    this.advance(delimiter.length);
    // A multi-line string may end with up to two quotes of its own before the delimiter.
    if (delimiter.length === 3) for (let i = 0; i < 2 && this.peek() === quote; i++) this.advance();
    return content;
  }

  /** A dotted key: bare or quoted segments. */
  private readKey(): string[] {
    const segs: string[] = [];
    for (;;) {
      this.skipSpace(false);
      const c = this.peek();
      if (c === '"' || c === "'") segs.push(this.skipString());
      else {
        const bare = /^[A-Za-z0-9_-]*/.exec(this.text.slice(this.at, this.at + 256))![0];
        segs.push(bare);
        this.advance(Math.max(bare.length, 1));
      }
      this.skipSpace(false);
      if (this.peek() !== '.') return segs;
      this.advance();
    }
  }

  private keyValue(table: string[]): void {
    const key = this.readKey();
    key.forEach((_, i) => this.record([...table, ...key.slice(0, i + 1)]));
    if (this.peek() === '=') this.advance();
    this.skipSpace(false);
    this.value([...table, ...key]);
  }

  private value(path: string[]): void {
    const c = this.peek();
    if (c === '"' || c === "'") this.skipString();
    else if (c === '[' || c === '{') this.container(path, c === '[' ? ']' : '}');
    else while (this.at < this.text.length && !/[,\]}#\n]/.test(this.peek())) this.advance();
  }

  /** An array (elements at `path.0`, `path.1`, …) or an inline table (keys under `path`). */
  private container(path: string[], close: string): void {
    this.advance();
    // Elements are counted by commas, so a scalar with a space in it (a TOML date-time) stays one element.
    for (let index = 0; ; ) {
      this.skipSpace(true);
      const before = this.at;
      if (this.at >= this.text.length || this.peek() === close) break;
      if (this.peek() === ',') {
        this.advance();
        index++;
      } else if (close === ']') {
        this.record([...path, String(index)]);
        this.value([...path, String(index)]);
      } else this.keyValue(path);
      if (this.at === before) this.advance();
    }
    this.advance();
  }

  /** `[a.b]` or `[[a.b]]`: the table's resolved path, with the index of each array of tables in it. */
  private header(): string[] {
    const array = this.text.startsWith('[[', this.at);
    this.advance(array ? 2 : 1);
    const key = this.readKey();
    this.advance(array ? 2 : 1);
    const path: string[] = [];
    key.forEach((seg, i) => {
      path.push(seg);
      this.record(path);
      const id = path.join('.').toLowerCase();
      // `[[a]]` appends an element to array a; later headers under `a.` refer to its last element.
      if (array && i === key.length - 1) this.arrays.set(id, (this.arrays.get(id) ?? 0) + 1);
      const count = this.arrays.get(id);
      if (count === undefined) return;
      path.push(String(count - 1));
      this.record(path);
    });
    return path;
  }
}
