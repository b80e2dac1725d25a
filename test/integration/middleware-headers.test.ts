import t from 'tap';
import { middlewareBench } from './middleware-fixtures';

const file = {
  custom: {
    headers: {
      customRequestHeaders: { 'X-Script-Name': 'test', 'X-Drop-Me': '' },
      customResponseHeaders: { 'X-Custom-Response': 'yes', 'Content-Type': '' },
    },
  },
  cors: {
    headers: {
      accessControlAllowMethods: ['GET', 'OPTIONS', 'PUT'],
      accessControlAllowHeaders: ['X-Token'],
      accessControlAllowOriginList: ['https://app.test'],
      accessControlAllowOriginListRegex: ['^https://([a-z]+)\\.other\\.test$'],
      accessControlExposeHeaders: ['X-Backend'],
      accessControlMaxAge: 100,
      accessControlAllowCredentials: true,
      addVaryHeader: true,
    },
  },
  security: {
    headers: {
      frameDeny: true,
      contentTypeNosniff: true,
      browserXssFilter: true,
      referrerPolicy: 'same-origin',
      permissionsPolicy: 'camera=()',
      contentSecurityPolicy: "default-src 'self'",
      stsSeconds: 31536000,
      stsIncludeSubdomains: true,
      stsPreload: true,
      forceSTSHeader: true,
    },
  },
  hosts: { headers: { allowedHosts: ['hosts.test'], hostsProxyHeaders: ['X-Original-Host'] } },
};

/** The same options as the label parser hands them over: lowercased keys, string values, comma lists. */
const labels = {
  custom: {
    headers: {
      customrequestheaders: { 'x-script-name': 'test', 'x-drop-me': '' },
      customresponseheaders: { 'x-custom-response': 'yes', 'content-type': '' },
    },
  },
  cors: {
    headers: {
      accesscontrolallowmethods: 'GET,OPTIONS,PUT',
      accesscontrolallowheaders: 'X-Token',
      accesscontrolalloworiginlist: 'https://app.test',
      accesscontrolalloworiginlistregex: '^https://([a-z]+)\\.other\\.test$',
      accesscontrolexposeheaders: 'X-Backend',
      accesscontrolmaxage: '100',
      accesscontrolallowcredentials: 'true',
      addvaryheader: 'true',
    },
  },
  security: {
    headers: {
      framedeny: 'true',
      contenttypenosniff: 'true',
      browserxssfilter: 'true',
      referrerpolicy: 'same-origin',
      permissionspolicy: 'camera=()',
      contentsecuritypolicy: "default-src 'self'",
      stsseconds: '31536000',
      stsincludesubdomains: 'true',
      stspreload: 'true',
      forcestsheader: 'true',
    },
  },
  hosts: { headers: { allowedhosts: 'hosts.test', hostsproxyheaders: 'X-Original-Host' } },
};

const routers = { custom: ['custom'], cors: ['cors'], security: ['security'], hosts: ['hosts'] };

const cases = [
  {
    name: 'custom request headers are set and an empty value removes one',
    router: 'custom', method: 'GET', headers: { 'x-drop-me': 'secret' },
    status: 200, upstream: { 'x-script-name': 'test', 'x-drop-me': undefined }, response: { 'x-custom-response': 'yes', 'content-type': undefined },
  },
  {
    name: 'CORS preflight is answered by the gateway',
    router: 'cors', method: 'OPTIONS', headers: { origin: 'https://app.test', 'access-control-request-method': 'PUT' },
    status: 200, upstream: null,
    response: {
      'access-control-allow-origin': 'https://app.test', 'access-control-allow-methods': 'GET,OPTIONS,PUT',
      'access-control-allow-headers': 'X-Token', 'access-control-max-age': '100', 'access-control-allow-credentials': 'true', vary: 'Origin',
    },
  },
  {
    name: 'CORS response headers for an allowed origin (regex)',
    router: 'cors', method: 'GET', headers: { origin: 'https://shop.other.test' },
    status: 200, upstream: {},
    response: { 'access-control-allow-origin': 'https://shop.other.test', 'access-control-expose-headers': 'X-Backend', 'access-control-allow-credentials': 'true', vary: 'Origin' },
  },
  {
    name: 'no CORS headers for a foreign origin',
    router: 'cors', method: 'GET', headers: { origin: 'https://evil.test' },
    status: 200, upstream: {}, response: { 'access-control-allow-origin': undefined },
  },
  {
    name: 'security headers, STS forced on plain HTTP',
    router: 'security', method: 'GET', headers: {},
    status: 200, upstream: {},
    response: {
      'x-frame-options': 'DENY', 'x-content-type-options': 'nosniff', 'x-xss-protection': '1; mode=block',
      'referrer-policy': 'same-origin', 'permissions-policy': 'camera=()', 'content-security-policy': "default-src 'self'",
      'strict-transport-security': 'max-age=31536000; includeSubDomains; preload',
    },
  },
  { name: 'allowed host passes', router: 'hosts', method: 'GET', headers: {}, status: 200, upstream: {}, response: {} },
  {
    name: 'a host proxy header naming another host is refused',
    router: 'hosts', method: 'GET', headers: { 'x-original-host': 'elsewhere.test' }, status: 500, upstream: null, response: {},
  },
];

for (const [form, middlewares] of [['file', file], ['labels', labels]] as const) {
  t.test(`headers middleware from ${form} configuration`, async (t) => {
    const bench = await middlewareBench(t, middlewares, routers);
    for (const c of cases) {
      const reply = await bench.send(c.router, '/x', { method: c.method, headers: c.headers });
      t.equal(reply.status, c.status, `${c.name}: status`);
      const seen = bench.echoed(reply);
      if (c.upstream === null) t.equal(seen, undefined, `${c.name}: not forwarded`);
      else for (const [k, v] of Object.entries(c.upstream)) t.equal(seen?.headers[k], v, `${c.name}: upstream ${k}`);
      for (const [k, v] of Object.entries(c.response)) t.equal(reply.headers[k], v, `${c.name}: response ${k}`);
    }
  });
}

t.test('invalid headers options disable their routers', async (t) => {
  const bench = await middlewareBench(
    t,
    {
      badage: { headers: { accessControlMaxAge: 'forever' } },
      badregex: { headers: { accessControlAllowOriginListRegex: ['[z-a]'] } },
      unknown: { headers: { sslRedirekt: true } },
      badmap: { headers: { customRequestHeaders: 'x' } },
      badname: { headers: { customRequestHeaders: { 'X Bad': '1' } } },
      badvalue: { headers: { customResponseHeaders: { 'X-Split': 'a\r\nSet-Cookie: b' } } },
    },
    { badage: ['badage'], badregex: ['badregex'], unknown: ['unknown'], badmap: ['badmap'], badname: ['badname'], badvalue: ['badvalue'] },
  );
  const cases = [
    { router: 'badage', error: /headers\.accessControlMaxAge: expected a number/ },
    { router: 'badregex', error: /headers\.accessControlAllowOriginListRegex\[0\]: invalid regular expression/ },
    { router: 'unknown', error: /headers\.sslRedirekt: unknown key \(did you mean sslRedirect\?\)/ },
    { router: 'badmap', error: /headers\.customRequestHeaders: expected a map/ },
    { router: 'badname', error: /headers\.customRequestHeaders\.X Bad: not a valid header name/ },
    { router: 'badvalue', error: /headers\.customResponseHeaders\.X-Split: a header value may not contain CR, LF or NUL/ },
  ];
  for (const c of cases) t.match(bench.routerErrors(c.router).join('\n'), c.error, c.router);
});

t.test("response headers apply after the balancer's own fields, as Traefik's", async (t) => {
  const bench = await middlewareBench(
    t,
    { nocookie: { headers: { customResponseHeaders: { 'Set-Cookie': '' } } }, tagged: { headers: { customResponseHeaders: { 'X-Tag': 'on' } } } },
    { dropped: { middlewares: ['nocookie'], service: 'pinned' }, kept: { middlewares: ['tagged'], service: 'pinned' } },
    { services: (url) => ({ pinned: { loadBalancer: { servers: [{ url }], sticky: { cookie: { name: 'pin' } } } } }) },
  );
  const cases = [
    { router: 'kept', cookie: /^pin=/, tag: 'on' },
    { router: 'dropped', cookie: undefined, tag: undefined },
  ];
  for (const c of cases) {
    const reply = await bench.send(c.router, '/');
    t.equal(reply.status, 200, `${c.router}: served`);
    const cookie = ([] as string[]).concat(reply.headers['set-cookie'] ?? [])[0];
    if (c.cookie) t.match(cookie, c.cookie, `${c.router}: the sticky cookie`);
    else t.equal(cookie, undefined, `${c.router}: an empty Set-Cookie removes the sticky cookie too`);
    t.equal(reply.headers['x-tag'], c.tag, `${c.router}: X-Tag`);
  }
});
