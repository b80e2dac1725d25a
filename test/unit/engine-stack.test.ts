import t from 'tap';
import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseStack, loadStackFile, type StackSpec } from '../../src/engine/stack';
import { PortierError } from '../../src/errors';

const dir = mkdtempSync(path.join(os.tmpdir(), 'portier-stack-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const file = path.join(dir, 'shop', 'stack.yml');

interface Case {
  name: string;
  yaml: string;
  env?: Record<string, string>;
  project?: string;
  /** Checks the parsed stack. */
  expect?: (s: StackSpec) => unknown;
  want?: unknown;
  /** Expected error: the message must contain each of these. */
  error?: string[];
}

const cases: Case[] = [
  {
    name: 'string command runs via the shell, list is exec',
    yaml: 'name: shop\nservices:\n  web:\n    command: node app.js\n  api:\n    command: ["node", "api.js", 8]\n',
    expect: (s) => [s.project, s.services.map((x) => x.command)],
    want: ['shop', [{ shell: 'node app.js' }, { argv: ['node', 'api.js', '8'] }]],
  },
  {
    name: 'deploy.replicas and scale',
    yaml: 'services:\n  web:\n    command: x\n    deploy:\n      replicas: 3\n  w2:\n    command: x\n    scale: 2\n',
    expect: (s) => [s.project, s.services.map((x) => x.replicas)],
    want: ['shop', [3, 2]],
  },
  {
    name: 'environment map and list with interpolation and defaults',
    yaml: [
      'services:',
      '  web:',
      '    command: x',
      '    environment:',
      '      A: ${FOO}',
      '      B: ${MISSING:-fallback}',
      '      C: $$literal',
      '      D: 5',
      '  api:',
      '    command: x',
      '    environment: ["E=${FOO}-x", "PASS"]',
    ].join('\n'),
    env: { FOO: 'foo', PASS: 'through' },
    expect: (s) => s.services.map((x) => x.environment),
    want: [{ A: 'foo', B: 'fallback', C: '$literal', D: '5' }, { E: 'foo-x', PASS: 'through' }],
  },
  {
    name: '.env beside the file fills variables; process env wins',
    yaml: 'services:\n  web:\n    command: echo ${FROM_DOTENV} ${BOTH}\n',
    env: { BOTH: 'process' },
    expect: (s) => s.services[0].command,
    want: { shell: 'echo from dotenv process' },
  },
  {
    name: 'labels as map and list',
    yaml: 'services:\n  web:\n    command: x\n    labels:\n      portier.enable: "true"\n  api:\n    command: x\n    labels: ["a=b", "c"]\n',
    expect: (s) => s.services.map((x) => x.labels),
    want: [{ 'portier.enable': 'true' }, { a: 'b', c: '' }],
  },
  {
    name: 'healthcheck forms and durations',
    yaml: [
      'services:',
      '  a: {command: x, healthcheck: {test: ["CMD", "true"], interval: 1m30s, timeout: 500ms, retries: 5, start_period: 2s}}',
      '  b: {command: x, healthcheck: {test: ["CMD-SHELL", "exit 0"]}}',
      '  c: {command: x, healthcheck: {test: "curl -f localhost"}}',
      '  d: {command: x, healthcheck: {test: ["HTTP", "/health"]}}',
      '  e: {command: x, healthcheck: {test: ["NONE"]}}',
    ].join('\n'),
    expect: (s) => s.services.map((x) => x.healthcheck),
    want: [
      { test: { kind: 'exec', argv: ['true'] }, intervalMs: 90_000, timeoutMs: 500, retries: 5, startPeriodMs: 2000 },
      { test: { kind: 'shell', script: 'exit 0' }, intervalMs: 30_000, timeoutMs: 30_000, retries: 3, startPeriodMs: 0 },
      { test: { kind: 'shell', script: 'curl -f localhost' }, intervalMs: 30_000, timeoutMs: 30_000, retries: 3, startPeriodMs: 0 },
      { test: { kind: 'http', path: '/health' }, intervalMs: 30_000, timeoutMs: 30_000, retries: 3, startPeriodMs: 0 },
      undefined,
    ],
  },
  {
    name: 'restart policies and stop_grace_period',
    yaml: [
      'services:',
      '  a: {command: x, restart: "no"}',
      '  b: {command: x, restart: on-failure:3}',
      '  c: {command: x, restart: always, stop_grace_period: 1s}',
      '  d: {command: x, restart: unless-stopped}',
    ].join('\n'),
    expect: (s) => s.services.map((x) => [x.restart, x.stopGraceMs]),
    want: [
      [{ mode: 'no', maxRetries: 0 }, 10_000],
      [{ mode: 'on-failure', maxRetries: 3 }, 10_000],
      [{ mode: 'always', maxRetries: 0 }, 1000],
      [{ mode: 'unless-stopped', maxRetries: 0 }, 10_000],
    ],
  },
  {
    name: 'depends_on orders services',
    yaml: [
      'services:',
      '  web: {command: x, depends_on: {api: {condition: service_healthy}, db: {condition: service_started}}}',
      '  api: {command: x, depends_on: [db], healthcheck: {test: "true"}}',
      '  db: {command: x}',
    ].join('\n'),
    expect: (s) => s.services.map((x) => [x.name, x.dependsOn]),
    want: [
      ['db', []],
      ['api', [{ service: 'db', condition: 'service_started' }]],
      ['web', [{ service: 'api', condition: 'service_healthy' }, { service: 'db', condition: 'service_started' }]],
    ],
  },
  {
    name: 'project flag overrides name; working_dir is relative to the file',
    yaml: 'name: shop\nservices:\n  web:\n    command: x\n    working_dir: ./app\n',
    project: 'other',
    expect: (s) => [s.project, path.relative(dir, s.services[0].workingDir)],
    want: ['other', path.join('shop', 'app')],
  },
  { name: 'ports are refused with the reason', yaml: 'services:\n  web:\n    command: x\n    ports: ["80:80"]\n', error: ['shop/stack.yml:4: services.web.ports: not supported by the runtime core (replicas get a free port in $PORT)'] },
  { name: 'unknown top-level key', yaml: 'services:\n  web:\n    command: x\nvolumes:\n  data: {}\n', error: ['stack.yml:4: volumes: not supported'] },
  { name: 'unknown healthcheck key', yaml: 'services:\n  web:\n    command: x\n    healthcheck:\n      test: "true"\n      start_interval: 1s\n', error: ['stack.yml:6: services.web.healthcheck.start_interval: not supported'] },
  { name: 'unknown deploy key', yaml: 'services:\n  web:\n    command: x\n    deploy:\n      resources: {}\n', error: ['stack.yml:5: services.web.deploy.resources'] },
  { name: 'missing command', yaml: 'services:\n  web:\n    labels: {}\n', error: ['stack.yml:2: services.web.command: is required'] },
  { name: 'bad duration', yaml: 'services:\n  web:\n    command: x\n    stop_grace_period: soon\n', error: ['stack.yml:4: services.web.stop_grace_period: expected a duration'] },
  { name: 'bad replicas', yaml: 'services:\n  web:\n    command: x\n    deploy:\n      replicas: two\n', error: ['stack.yml:5: services.web.deploy.replicas: expected a number'] },
  { name: 'bad restart', yaml: 'services:\n  web:\n    command: x\n    restart: sometimes\n', error: ['stack.yml:4: services.web.restart: expected no, on-failure'] },
  { name: 'bad healthcheck test', yaml: 'services:\n  web:\n    command: x\n    healthcheck:\n      test: ["HTTP", "health"]\n', error: ['stack.yml:5: services.web.healthcheck.test: expected'] },
  { name: 'unknown dependency', yaml: 'services:\n  web:\n    command: x\n    depends_on: [db]\n', error: ['stack.yml:4: services.web.depends_on: unknown service "db"'] },
  { name: 'dependency cycle', yaml: 'services:\n  a:\n    command: x\n    depends_on: [b]\n  b:\n    command: x\n    depends_on: [a]\n', error: ['dependency cycle: a -> b -> a'] },
  { name: 'service_healthy needs a healthcheck', yaml: 'services:\n  a:\n    command: x\n    depends_on:\n      b: {condition: service_healthy}\n  b:\n    command: x\n', error: ['stack.yml:5: services.a.depends_on.b: service_healthy needs a healthcheck on b'] },
  { name: 'required variable', yaml: 'services:\n  web:\n    command: echo ${NEEDED:?set it}\n', error: ['stack.yml:3: services.web.command: required variable NEEDED is missing a value: set it'] },
  { name: 'bad project name', yaml: 'name: My Shop\nservices:\n  web:\n    command: x\n', error: ['stack.yml:1: name: project name "My Shop"'] },
  { name: 'YAML syntax error has a line', yaml: 'services:\n  web:\n    command: [x\n', error: ['stack.yml:'] },
  { name: 'duplicate key', yaml: 'services:\n  web:\n    command: x\n    command: y\n', error: ['stack.yml:4'] },
];

t.before(() => {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(path.join(path.dirname(file), '.env'), '# comment\nFROM_DOTENV="from dotenv"\nexport BOTH=dotenv\n');
});

for (const c of cases) {
  t.test(c.name, async (t) => {
    const run = (): StackSpec => parseStack(c.yaml, file, { env: c.env ?? {}, project: c.project });
    if (c.error) {
      const err = t.throws(run) as unknown as PortierError;
      t.type(err, PortierError);
      t.equal(err.code, 'STACK_INVALID');
      for (const part of c.error) t.match(err.message, part);
      return;
    }
    t.strictSame(c.expect!(run()), c.want);
  });
}

t.test('loadStackFile reads the file and names it in errors', async (t) => {
  writeFileSync(file, 'name: shop\nservices:\n  web:\n    command: node app.js\n');
  t.equal(loadStackFile(file).services[0].name, 'web');
  t.throws(() => loadStackFile(path.join(dir, 'nope.yml')), /nope\.yml: cannot read stack file/);
});
