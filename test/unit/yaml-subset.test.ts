import t from 'tap';
import { isDeepStrictEqual, inspect } from 'node:util';
import { LineCounter, isMap, isScalar, parseDocument } from 'yaml';
import { cut, isBranch, type Part } from '../../src/config/yaml-blocks';
import { readSubset } from '../../src/config/yaml-subset';
import { prng } from '../helpers/prng';

/** Printable ASCII only: a line separator in a message would cut TAP's output. */
const show = (v: unknown): string => inspect(v, { depth: 9 }).replace(/[^\x20-\x7e\n]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** The `yaml` library's reading, the reference: its value and the line of each top key, or 'error'. */
function library(text: string): { value: unknown; lines: Record<string, number> } | 'error' {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length) return 'error';
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch {
    return 'error';
  }
  const lines: Record<string, number> = {};
  if (isMap(doc.contents)) for (const p of doc.contents.items) if (isScalar(p.key) && p.key.range) lines[String(p.key.value)] = lineCounter.linePos(p.key.range[0]).line;
  return { value, lines };
}

/** The subset's reading in the same shape, or undefined when it leaves the text to the library. */
function subset(text: string): { value: unknown; lines: Record<string, number> } | undefined {
  const read = readSubset(text);
  if (!read) return undefined;
  const value: Record<string, unknown> = {};
  const lines: Record<string, number> = {};
  read.keys.forEach((key, i) => {
    value[key] = read.values[i];
    lines[key] = read.lines[i];
  });
  return { value: read.keys.length ? value : null, lines };
}

/** Read by the subset, exactly as the library: values (NaN, -0 and types included) and key lines. */
const read: string[] = [
  'a: "a: b"', "a: 'it''s'", "a: ''", 'a: ""', 'a: "\\u00e9\\t"', 'a: "\\x41\\U0001F600\\N\\_\\L\\P\\0\\a\\b\\e\\f\\n\\r\\v\\ \\/\\"\\\\"',
  'a: 0x1F', 'a: 0o17', 'a: 017', 'a: 0o8', 'a: 0xG', 'a: 1e3', 'a: 1E+3', 'a: 1.5e-3', 'a: .5', 'a: +.5', 'a: 1.', 'a: 1.0', 'a: -0', 'a: +1', 'a: 1_000',
  'a: 9007199254740993', 'a: 123456789012345678901234567890', 'a: -.inf', 'a: +.Inf', 'a: .INF', 'a: .nan', 'a: .NaN', 'a: .nAn',
  'a: ~', 'a: null', 'a: Null', 'a: NULL', 'a: nULL', 'a:', 'a:   ', 'a: # nothing', 'a: True', 'a: FALSE', 'a: fAlse', 'a: yes', 'a: No', 'a: on', 'a: y',
  'a: 12:30', 'a: "#x"', 'a: a #comment', 'a: a#b', 'a: trailing   ', 'a: x # c: d', 'a: http://127.0.0.1:8080/x?y=z#frag', 'a: Host(`h.test`) || PathPrefix(`/a`)',
  'a: ^/api/[a-z]+{1,2}$', 'a: -x', 'a: -1', 'a: a, b', 'a: "x" # c', "a: 'x'   # c", 'a: [a, "b, c", \'d\', 1, true, ~]', 'a: []', 'a: [ ]', 'a: {}', 'a: { }', 'a: [x]  # c',
  'a b: 1', 'a.b: 1', 'a:b: 1', 'a-b_c/d@e: 1', 'a : 1', '"q": 1', '"q k"  : 1', "'q''k': 1", '"1": one', '"": empty', '"a\\tb": 1', 'é: ü', '日本: 語', 'k: "\\u00a0"', 'k: x\u00a0',
  'a:\n- x\n- y\nb: 1', 'a:\n  - x\n  -\n  - z', 'a:\n  - k: 1\n    l: 2\n  -   m: 3\n  - - n\n    - o\n  - - - p', 'a:\n- k:\n  - x\n  - y\n- z',
  'a:\n  b:\n    c:\n      d: 1\n  e: 2', 'a:\n  # between\n\n  b: 1\n# outdented\n  c: 2', '  a: 1\n  b:\n      c: 2', 'a:\n  -\n    b: 1',
  '# only a comment\n', '', 'a: 1\n\n\nb: 2\n',
  // What one line holds must not be looked for on the next.
  'a: x\nb: "y # z: w"\nc: d # e', 'a: "x"\nb: "\\ty"', "a: 'x'\nb: 'y'", 'a:\n- x\n- "y: z"\n- w # c',
];

/** Left to the library, where it reads a value or reports an error. */
const notRead: string[] = [
  'a: &x 1', 'a: *x', 'a: !t 1', 'a: !!str 1', 'a: |\n  x', 'a: >\n  x', '? a\n: 1', 'a: 1\na: 2', 'a:\n  b: 1\n  b: 2', '__proto__: 1', '<<: {a: 1}',
  'true: 1', '1: 2', 'null: 1', '~: 1', '0x1: 1', 'x[0]: 1', 'a: [1, [2]]', 'a: [a: b]', 'a: [a:b]', 'a: [a, ]', 'a: [a', 'a: [-]', 'a: [-, x]', 'a: {a: 1}', 'a: {}#c', 'a: "x"#c',
  '%YAML 1.2\n---\na: 1', '---\na: 1', 'a: 1\n...', 'a: @x', 'a: `x`', 'a: %x', 'a: ,x', 'a: ?x', 'a: :x', 'a: -', 'a: - b', 'a: b: c', 'a: b:',
  'a: x\n  y', 'a: "x\n  y"', "a: 'x", 'a: "x', 'a: "\\q"', 'a: "\\u12"', 'a: "\\UFFFFFFFF"', 'a: "x\\\n  y"', 'a:\n    - x\n  - y', 'a:\n  - x\n  b: 1',
  'a:\tb', 'a: b\r\nc: d', '\ufeffa: 1', '- a\n- b', 'just a scalar', 'a\nb: 1', 'a: x\n- y', 'a:\n  - x\n  y: 1', 'a: 1\n b: 2', '  a: 1\nb: 2', `${'k'.repeat(1100)}: 1`,
];

t.test('scalars, keys and blocks read as the library reads them', async (t) => {
  for (const text of read) {
    const ours = subset(text);
    const theirs = library(text);
    t.not(theirs, 'error', `${show(text)} is valid YAML`);
    t.ok(ours, `${show(text)} is read`);
    t.ok(isDeepStrictEqual(ours, theirs), `${show(text)}: ${show(ours)} as the library's ${show(theirs)}`);
  }
});

t.test('anything else is left to the library', async (t) => {
  for (const text of notRead) t.equal(readSubset(text), undefined, show(text));
});

const pieces = (parts: Part[]): string[] => parts.flatMap((p) => (isBranch(p) ? pieces(p.parts) : [p.text]));

t.test('every piece of a file of routers and services is in the subset', async (t) => {
  const lines = ['# routes', 'http:', '  routers:'];
  for (let i = 0; i < 300; i++) lines.push(`    r${i}:`, `      rule: "Host(\`h${i}.test\`)"`, `      service: s${i}`, '      middlewares: [a, b]');
  lines.push('  services:');
  for (let i = 0; i < 300; i++) lines.push(`    s${i}:`, '      loadBalancer:', '        servers:', `          - url: http://127.0.0.1:${8000 + i}`);
  const texts = pieces(cut(`${lines.join('\n')}\n`)!);
  t.equal(texts.filter((p) => readSubset(p) === undefined).length, 0, `all ${texts.length} pieces read`);
});

/** Spellings the subset reads, for random documents: plain, quoted, typed and not. */
const KEYS = ['a', 'b', 'rule', 'my-router', 'a.b', 'a b', 'x:y', '"q k"', "'s'", '"1"', 'é'];
const SCALARS = ['x', 'a b', 'a#b', '"a: b"', "'it''s'", '"\\u00e9\\t"', '0x1F', '0o17', '017', '1e3', '.5', '-.inf', '.nan', '~', 'null', 'True', 'yes', '12:30', '"#x"', '-1', '', 'x # c', '[a, 1]', '[-1, -a, "b"]', '[]', '{}', 'http://h:1/p'];

function randomDocument(random: () => number): string {
  const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)];
  const out: string[] = [];
  const map = (indent: string, depth: number): void => {
    const keys = [...new Set(Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(KEYS)))];
    for (const key of keys) {
      if (random() < 0.2) out.push(`${indent}# ${pick(KEYS)}`);
      const r = depth < 3 ? random() : 0;
      if (r < 0.6) out.push(`${indent}${key}: ${pick(SCALARS)}`.trimEnd());
      else if (r < 0.8) {
        out.push(`${indent}${key}:`);
        map(`${indent}${pick(['  ', '    '])}`, depth + 1);
      } else {
        out.push(`${indent}${key}:`);
        seq(random() < 0.5 ? indent : `${indent}  `, depth + 1);
      }
    }
  };
  const seq = (indent: string, depth: number): void => {
    for (let n = 1 + Math.floor(random() * 3); n > 0; n--) {
      const r = depth < 3 ? random() : 0;
      if (r < 0.6) out.push(`${indent}- ${pick(SCALARS)}`.trimEnd());
      else if (r < 0.8) {
        // A compact map: its first key on the `- ` line, the rest under it.
        const at = out.length;
        map(`${indent}  `, depth + 1);
        const first = out.findIndex((l, i) => i >= at && !l.trimStart().startsWith('#'));
        out[first] = `${indent}- ${out[first].trimStart()}`;
        out.splice(at, first - at);
      } else {
        out.push(`${indent}-`);
        map(`${indent}  `, depth + 1);
      }
    }
  };
  map(pick(['', '    ']), 0);
  return `${out.join('\n')}\n`;
}

t.test('random documents of the subset, and their corruptions, read as the library reads them', async (t) => {
  const random = prng(20261208);
  let corruptedRead = 0;
  const count = 400;
  for (let n = 0; n < count; n++) {
    const text = randomDocument(random);
    const theirs = library(text);
    const ours = subset(text);
    if (!ours || !isDeepStrictEqual(ours, theirs)) return void t.fail(`document ${n}: ${show(text)}\nours ${show(ours)}\nlibrary ${show(theirs)}`);
    // One character inserted or removed anywhere: read the same as the library, or not at all.
    const at = Math.floor(random() * text.length);
    const corrupt = random() < 0.5 ? text.slice(0, at) + text.slice(at + 1) : text.slice(0, at) + pick(' :-#"\'[]{}\n&*|>?,') + text.slice(at);
    const broken = subset(corrupt);
    if (broken && !isDeepStrictEqual(broken, library(corrupt))) return void t.fail(`corrupted ${n}: ${show(corrupt)}\nours ${show(broken)}\nlibrary ${show(library(corrupt))}`);
    if (broken) corruptedRead++;
  }
  t.pass(`${count} documents read exactly; ${corruptedRead} of their corruptions read, as the library reads them`);

  function pick(chars: string): string {
    return chars[Math.floor(random() * chars.length)];
  }
});
