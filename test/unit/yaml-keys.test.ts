import t from 'tap';
import { parseYaml, YamlReuse } from '../../src/config/yaml';
import { cut } from '../../src/config/yaml-blocks';

/** The YAML reader's own duplicate-key check and key index (linear, for files of thousands of routers) say what the library did. */
const cases: { name: string; text: string; error?: string; path?: string; line?: number }[] = [
  { name: 'a key given twice in a nested map', text: 'a: 1\nb:\n  c: 1\n  c: 2\n', error: 'f.yaml:4' },
  { name: 'a key given twice at the top', text: 'a: 1\na: 2\n', error: 'f.yaml:2' },
  { name: 'the same key in two maps is fine', text: 'a:\n  c: 1\nb:\n  c: 2\n', path: 'b.c', line: 4 },
  { name: 'a key found in another spelling', text: 'http:\n  Routers:\n    api:\n      rule: x\n', path: 'http.routers.api.rule', line: 4 },
  { name: 'the exact spelling first', text: 'm:\n  Key: 1\n  key: 2\n', path: 'm.key', line: 3 },
  { name: 'a list item', text: 'l:\n  - a\n  - b\n', path: 'l.1', line: 3 },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    // Parsed whole, and in pieces as the file provider parses (yaml-blocks.ts): the same answers.
    for (const reuse of [undefined, new YamlReuse()]) {
      if (c.error) {
        t.throws(() => parseYaml(c.text, 'f.yaml', reuse), { code: 'CONFIG_PARSE', path: c.error, message: /Map keys must be unique/ });
        continue;
      }
      t.equal(parseYaml(c.text, 'f.yaml', reuse).lineOf(c.path!), c.line);
    }
  });
}

const routers = (n: number, changed = -1): string => {
  const lines = ['# routes', 'http:', '  routers:'];
  for (let i = 0; i < n; i++) lines.push(`    r${i}:`, `      rule: "Host(\`h${i}.test\`) && Path(\`/\`)"`, `      service: ${i === changed ? 'other' : `s${i}`}`, '      middlewares: [a, b]');
  lines.push('  services:', '    s0:', '      loadBalancer:', '        servers:', '          - url: http://127.0.0.1:1');
  return `${lines.join('\n')}\n`;
};

/**
 * Documents the pieces must read exactly as a whole parse does: values,
 * lines of every path asked, errors. `cut` says whether the document is
 * cut at all (the rest parse whole).
 */
const documents: { name: string; text: string; cut: boolean; paths?: string[] }[] = [
  { name: '200 routers and a service', text: routers(200), cut: true, paths: ['http.routers.r0', 'http.routers.r199.service', 'http.routers.r57.middlewares.1', 'http.services.s0.loadBalancer.servers.0.url', 'http.nothing', 'http'] },
  { name: 'comments and blank lines between entries', text: 'http:\n\n  # the routers\n  routers:\n    # first\n    a:\n      rule: x\n\n# outdented comment\n    b:\n      rule: y\n', cut: true, paths: ['http.routers.b.rule', 'http.routers.a'] },
  { name: 'block scalars and quoted keys', text: 'http:\n  middlewares:\n    "my mw":\n      headers:\n        customResponseHeaders:\n          X-A: |\n            one\n            two\n    \'b\':\n      chain: {middlewares: [a]}\n', cut: true, paths: ['http.middlewares.my mw.headers.customResponseHeaders.X-A', 'http.middlewares.b.chain'] },
  { name: 'an anchor used in another piece: parsed whole', text: 'x-common: &c\n  service: s\nhttp:\n  routers:\n    a:\n      <<: *c\n      rule: x\n', cut: true, paths: ['http.routers.a.rule'] },
  { name: 'a sequence at a cut level', text: 'tls:\n  certificates:\n  - certFile: a\n    keyFile: b\n', cut: true, paths: ['tls.certificates.0.keyFile'] },
  { name: 'JSON: parsed whole', text: '{"http": {"routers": {"a": {"rule": "x"}}}}', cut: false, paths: ['http.routers.a.rule'] },
  { name: 'a document marker: parsed whole', text: '---\nhttp:\n  routers:\n    a:\n      rule: x\n', cut: false, paths: ['http.routers.a.rule'] },
  { name: 'a router defined twice in two pieces', text: `${routers(100)}    r3:\n      rule: again\n`, cut: true },
  { name: 'an alias to no anchor: an error at its line', text: 'http:\n  routers:\n    a:\n      rule: x\n    b: *nothing\n', cut: true },
  { name: 'a syntax error in one piece', text: 'http:\n  routers:\n    a:\n      rule: "x\n    b:\n      rule: y\n', cut: true },
];

for (const d of documents) {
  t.test(`pieces read as the whole: ${d.name}`, async (t) => {
    t.equal(cut(d.text) !== undefined, d.cut, d.cut ? 'cut' : 'parsed whole');
    const whole = (() => { try { return parseYaml(d.text, 'f.yaml'); } catch (err) { return err as Error; } })();
    const pieces = (() => { try { return parseYaml(d.text, 'f.yaml', new YamlReuse()); } catch (err) { return err as Error; } })();
    if (whole instanceof Error) {
      t.match(whole, { code: 'CONFIG_PARSE', path: /^f\.yaml:\d+$/ }, `an error at a line: ${whole.message}`);
      t.match(pieces, { message: whole.message, path: (whole as Error & { path: string }).path }, 'the same error at the same line');
      return;
    }
    if (pieces instanceof Error) return void t.fail(`pieces failed: ${pieces.message}`);
    t.same(pieces.value, whole.value, 'the same values');
    for (const path of d.paths ?? []) t.equal(pieces.lineOf(path), whole.lineOf(path), `${path}: the same line`);
  });
}

t.test('a re-read keeps the objects of unchanged pieces and parses only the changed one', async (t) => {
  const reuse = new YamlReuse();
  type Http = { http: { routers: Record<string, unknown> } };
  const before = parseYaml(routers(2000), 'f.yaml', reuse).value as Http;
  const pieces = reuse.pieces.size;
  t.ok(pieces > 20, `cut into ${pieces} pieces`);
  const after = parseYaml(routers(2000, 1234), 'f.yaml', reuse).value as Http;
  t.same(after.http.routers.r1234, { rule: 'Host(`h1234.test`) && Path(`/`)', service: 'other', middlewares: ['a', 'b'] }, 'the change is read');
  const kept = Object.keys(after.http.routers).filter((k) => after.http.routers[k] === before.http.routers[k]).length;
  t.ok(kept >= 2000 - 200 && kept < 2000, `${kept} of 2000 routers are the same objects`);
  t.equal(reuse.pieces.size, pieces, 'only the pieces of the last read are kept');
});

t.test('10,000 keys in one map: each found at its line', async (t) => {
  const text = Array.from({ length: 10_000 }, (_, i) => `k${i}: ${i}`).join('\n');
  const parsed = parseYaml(text, 'f.yaml');
  t.equal(parsed.lineOf('k9999'), 10_000, 'the last key is found at its line');
});
