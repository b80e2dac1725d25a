import type { IncomingHttpHeaders } from 'node:http';

/** What a rule sees of a request; computed once per request by the entrypoint. */
export interface MatchRequest {
  /** Lowercased, port and trailing dot stripped; the absolute-form URL host wins over the Host header. */
  host: string;
  /** Canonical routing path: unreserved %XX decoded, reserved ones (%2F, %23 …) kept encoded. */
  path: string;
  method: string;
  headers: IncomingHttpHeaders;
  /** Raw query string without the leading `?`. */
  query: string;
  /** TCP peer address (never X-Forwarded-For), IPv4-mapped IPv6 unwrapped. */
  clientIp: string;
}

export type RuleSyntax = 'v2' | 'v3';

export interface CompiledRule {
  readonly source: string;
  readonly syntax: RuleSyntax;
  /** Traefik's default priority: the rule's length. */
  readonly defaultPriority: number;
  /**
   * Exact hosts (lowercased) one of which the request must have for the rule
   * to match, or null when the rule is not bound to exact hosts. Used for the
   * host index and to know which names a router needs a certificate for.
   */
  readonly hosts: readonly string[] | null;
  /**
   * Like `hosts`, but also set when the rule is bound to one-label wildcard
   * hosts (`*.example.com`): the request host must equal one of `exact` or
   * match one of `wildcard`. Null when the rule is not host-bound.
   */
  readonly hostBinding?: HostBinding | null;
  match(req: MatchRequest): boolean;
  /** Why it does (not) match: one line per leaf matcher, for `portier explain`. */
  explain(req: MatchRequest): { matched: boolean; lines: string[] };
}

export interface HostBinding {
  readonly exact: readonly string[];
  /** Patterns such as `*.example.com`; `*` stands for exactly one label. */
  readonly wildcard: readonly string[];
}

export interface RuleCompileResult {
  rule: CompiledRule;
  /** e.g. "rule parsed with v2 syntax" in auto mode. */
  warnings: string[];
}
