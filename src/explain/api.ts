import type { Handler } from '../proxy/exchange';
import type { RoutingTable } from '../routing/table';
import { explainRequest, ExplainEntryPoint } from './explain';
import { PortierError, errorMessage } from '../errors';

/**
 * `GET /api/explain?url=…&method=…&header=Name:value&entrypoint=…`: the
 * explanation as JSON; 400 with `{message}` for a bad query.
 */
export function createExplainHandler(table: () => RoutingTable, entryPoints: () => ExplainEntryPoint[]): Handler {
  return async (ex) => {
    const params = new URLSearchParams(ex.query);
    let status = 200;
    let body: unknown;
    try {
      const url = params.get('url');
      if (!url) throw new PortierError('BAD_REQUEST', 'explain: the url parameter is required', { status: 400 });
      body = explainRequest(
        table(),
        { url, method: params.get('method') ?? undefined, headers: params.getAll('header'), entryPoint: params.get('entrypoint') ?? undefined },
        entryPoints(),
      );
    } catch (err) {
      status = err instanceof PortierError && err.status ? err.status : 500;
      body = { message: errorMessage(err) };
    }
    const text = JSON.stringify(body);
    ex.res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    ex.res.end(text);
  };
}
