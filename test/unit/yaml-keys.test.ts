import t from 'tap';
import { parseYaml } from '../../src/config/yaml';

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
    if (c.error) {
      t.throws(() => parseYaml(c.text, 'f.yaml'), { code: 'CONFIG_PARSE', path: c.error, message: /Map keys must be unique/ });
      return;
    }
    t.equal(parseYaml(c.text, 'f.yaml').lineOf(c.path!), c.line);
  });
}

t.test('10,000 keys in one map: each found at its line', async (t) => {
  const text = Array.from({ length: 10_000 }, (_, i) => `k${i}: ${i}`).join('\n');
  const parsed = parseYaml(text, 'f.yaml');
  t.equal(parsed.lineOf('k9999'), 10_000, 'the last key is found at its line');
});
