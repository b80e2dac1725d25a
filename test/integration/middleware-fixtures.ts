import type { Test } from 'tap';
import type http from 'node:http';
import type { DynamicConfig, RouterConfig } from '../../src/dynamic/model';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { startEchoBackend, type EchoBackend } from '../helpers/echo';
import { request, type Reply } from '../helpers/http';

/** What the echo backend says it received. */
export interface Echoed {
  name: string;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface MiddlewareBench {
  gw: TestGateway;
  echo: EchoBackend;
  /** A request to router `router` (matched by Host `<router>.test`). */
  send(router: string, path: string, opts?: Parameters<typeof request>[1]): Promise<Reply>;
  /** The upstream's view of the request (the echo body), or undefined when the gateway answered itself. */
  echoed(reply: Reply): Echoed | undefined;
  /** A router's errors (empty when enabled). */
  routerErrors(router: string): string[];
}

/**
 * A real gateway and echo backend, one router per entry of `routers`
 * (`Host(<name>.test)` → its middlewares → the echo service). Extra
 * services and middlewares come from `extra`.
 */
export async function middlewareBench(
  t: Test,
  middlewares: Record<string, unknown>,
  routers: Record<string, RouterSpec>,
  extra: {
    /** More services; a function is given the echo backend's URL. */
    services?: NonNullable<DynamicConfig['http']>['services'] | ((echoUrl: string) => NonNullable<DynamicConfig['http']>['services']);
    backend?: Parameters<typeof startEchoBackend>[1];
    /** Trust X-Forwarded-For from the test client (loopback). */
    trustForwarded?: boolean;
  } = {},
): Promise<MiddlewareBench> {
  const echo = await startEchoBackend('echo', extra.backend);
  t.teardown(() => echo.close());
  const staticConfig = extra.trustForwarded ? { entryPoints: { web: { address: '127.0.0.1:0', forwardedHeaders: { insecure: true } } } } : undefined;
  const gw = await startTestGateway(benchConfig(echo.url, middlewares, routers, typeof extra.services === 'function' ? extra.services(echo.url) : extra.services), { staticConfig });
  t.teardown(() => gw.close());
  return {
    gw,
    echo,
    send: (router, path, opts = {}) => request(gw.url + path, { ...opts, host: `${router}.test` }),
    echoed: (reply) => (reply.headers['x-backend'] === 'echo' ? (JSON.parse(reply.body) as Echoed) : undefined),
    routerErrors: (router) => gw.router(router)?.errors ?? ['router missing'],
  };
}

/** A router's middlewares, or its middlewares and service (default: the echo backend). */
export type RouterSpec = string[] | { middlewares: string[]; service: string };

export function benchConfig(
  echoUrl: string,
  middlewares: Record<string, unknown>,
  routers: Record<string, RouterSpec>,
  services: NonNullable<DynamicConfig['http']>['services'] = {},
): DynamicConfig {
  const r: Record<string, RouterConfig> = {};
  for (const [name, spec] of Object.entries(routers)) {
    const { middlewares: mws, service } = Array.isArray(spec) ? { middlewares: spec, service: 'echo' } : spec;
    r[name] = { rule: `Host(\`${name}.test\`)`, middlewares: mws, service };
  }
  return {
    http: {
      routers: r,
      services: { echo: { loadBalancer: { servers: [{ url: echoUrl }] } }, ...services },
      middlewares: middlewares as Record<string, Record<string, unknown>>,
    },
  };
}

/** Polls until `fn` is true; fails after `ms`. */
export async function waitFor(what: string, fn: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
