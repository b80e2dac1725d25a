import http from 'node:http';
import { loadStaticConfig } from '../config/load';
import { isTlsEntryPoint } from '../server/gateway';
import { withOfflineTable } from '../commands/offline-table';
import { errorMessage } from '../errors';
import { explainRequest, ExplainQuery, ExplainResult } from './explain';
import { renderExplain } from './render';
import { tcpEntryPoints } from '../udp/front';

const USAGE = `Usage: portier explain URL [--method M] [-H 'Name: value' ...] [--entrypoint NAME]
                       [--api http://127.0.0.1:8081] [--config FILE] [--json]

Asks the running Portier's API which router URL reaches and why the near
misses do not; when no API answers, compiles --config's file provider offline.
`;

interface ExplainArgs {
  query: ExplainQuery;
  api: string;
  file?: string;
  json: boolean;
}

function parse(argv: string[]): ExplainArgs | string {
  const query: ExplainQuery = { url: '', headers: [] };
  const out: ExplainArgs = { query, api: 'http://127.0.0.1:8081', json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--method' || flag === '-X') query.method = value();
    else if (flag === '-H' || flag === '--header') query.headers!.push(value());
    else if (flag === '--entrypoint' || flag === '--entryPoint') query.entryPoint = value();
    else if (flag === '--api') out.api = value();
    else if (flag === '--config' || flag === '-c') out.file = value();
    else if (flag === '--json') out.json = true;
    else if (flag === '--help' || flag === '-h') return USAGE;
    else if (!a.startsWith('-') && !query.url) query.url = a;
    else return `portier explain: unexpected argument ${JSON.stringify(a)}\n\n${USAGE}`;
  }
  return query.url ? out : `portier explain: a URL is required\n\n${USAGE}`;
}

/** GET /api/explain; undefined when nothing listens there. */
function askApi(api: string, q: ExplainQuery): Promise<ExplainResult | { error: string } | undefined> {
  const params = new URLSearchParams({ url: q.url, method: q.method ?? 'GET' });
  for (const h of q.headers ?? []) params.append('header', h);
  if (q.entryPoint) params.set('entrypoint', q.entryPoint);
  return new Promise((resolve) => {
    const req = http.get(`${api.replace(/\/$/, '')}/api/explain?${params}`, { timeout: 3000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        try {
          const body = JSON.parse(text) as ExplainResult & { message?: string };
          resolve(res.statusCode === 200 ? body : { error: body.message ?? text });
        } catch {
          resolve({ error: `unexpected answer from ${api} (${res.statusCode})` });
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(undefined));
  });
}

async function explainOffline(file: string | undefined, q: ExplainQuery): Promise<ExplainResult> {
  const { config } = loadStaticConfig({ file, flags: [] });
  // A UDP entrypoint never receives an HTTP request.
  const eps = Object.entries(tcpEntryPoints(config.entryPoints)).map(([name, ep]) => ({ name, port: Number(ep.address.slice(ep.address.lastIndexOf(':') + 1)), tls: isTlsEntryPoint(name, ep) }));
  return withOfflineTable(config, (table) => explainRequest(table, q, eps));
}

/** `portier explain URL …`: 0 when a router (HTTP or TCP) matches, 1 when none does, 2 on bad usage. */
export async function explainCommand(argv: string[], out = process.stdout, err = process.stderr): Promise<number> {
  let args: ExplainArgs | string;
  try {
    args = parse(argv);
  } catch (e) {
    err.write(`portier explain: ${errorMessage(e)}\n`);
    return 2;
  }
  if (typeof args === 'string') {
    (args === USAGE ? out : err).write(args);
    return args === USAGE ? 0 : 2;
  }
  let result = await askApi(args.api, args.query);
  if (result && 'error' in result) {
    err.write(`portier explain: ${result.error}\n`);
    return 2;
  }
  if (!result) {
    err.write(`portier explain: no Portier API at ${args.api}; explaining ${args.file ?? 'portier.yaml'}'s file provider offline\n`);
    result = await explainOffline(args.file, args.query);
  }
  out.write(args.json ? `${JSON.stringify(result, null, 2)}\n` : renderExplain(result));
  return result.match || result.tcp?.match ? 0 : 1;
}
