/**
 * The one error catalogue. Configuration errors carry the path of the
 * offending field (`http.routers.api.rule`) and attach to the object they
 * belong to; request errors carry the HTTP status they end the request with.
 */
export const ErrorCodes = {
  CONFIG_UNKNOWN_KEY: 'unknown key',
  CONFIG_INVALID: 'invalid value',
  CONFIG_MISSING: 'missing value',
  CONFIG_PARSE: 'parse error',
  /** Not an error: a key accepted without being applied, or deprecated; shown as a warning on its object. */
  CONFIG_WARNING: 'accepted with a warning',
  RULE_SYNTAX: 'rule syntax error',
  RULE_MATCHER: 'unknown or misused matcher',
  REF_UNKNOWN: 'unknown reference',
  REF_CYCLE: 'reference cycle',
  LABEL_INVALID: 'invalid label',
  STACK_INVALID: 'invalid stack file',
  ENGINE: 'engine error',
  NO_ROUTE: 'no router matches',
  NO_SERVER: 'no healthy server',
  UPSTREAM_REFUSED: 'upstream refused or reset the connection',
  UPSTREAM_TIMEOUT: 'upstream timed out',
  UPSTREAM_INVALID: 'upstream sent an invalid response',
  BAD_REQUEST: 'malformed request',
  HEAD_TOO_LARGE: 'request head too large',
  BODY_TOO_LARGE: 'request body too large',
  HTTP_VERSION: 'HTTP version not supported',
  CODING_UNSUPPORTED: 'transfer coding not implemented',
  STOPPED: 'abandoned because the process is stopping',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/**
 * How the gateway answers each request error: the status, and whether the
 * client sees the error's own message (what was wrong with its request) or
 * only the status's text (never a backend's or Portier's internals).
 */
const REQUEST_ANSWERS: Partial<Record<ErrorCode, { status: number; text: string; detail: boolean }>> = {
  BAD_REQUEST: { status: 400, text: 'Bad Request', detail: true },
  HEAD_TOO_LARGE: { status: 431, text: 'Request Header Fields Too Large', detail: true },
  BODY_TOO_LARGE: { status: 413, text: 'Request Entity Too Large', detail: false },
  HTTP_VERSION: { status: 505, text: 'HTTP Version Not Supported', detail: true },
  CODING_UNSUPPORTED: { status: 501, text: 'Not Implemented', detail: true },
  NO_ROUTE: { status: 404, text: '404 page not found', detail: false },
  NO_SERVER: { status: 503, text: 'Service Unavailable', detail: false },
  UPSTREAM_REFUSED: { status: 502, text: 'Bad Gateway', detail: false },
  UPSTREAM_INVALID: { status: 502, text: 'Bad Gateway', detail: false },
  UPSTREAM_TIMEOUT: { status: 504, text: 'Gateway Timeout', detail: false },
  STOPPED: { status: 503, text: 'Service Unavailable', detail: false },
};

const INTERNAL = { status: 500, text: 'Internal Server Error', detail: false };

export class PortierError extends Error {
  readonly code: ErrorCode;
  /** Dotted path of the offending field, or a file:line position. */
  readonly path?: string;
  /** HTTP status for request errors. */
  readonly status?: number;

  constructor(code: ErrorCode, message: string, opts: { path?: string; status?: number; cause?: unknown } = {}) {
    super(opts.path ? `${opts.path}: ${message}` : message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'PortierError';
    this.code = code;
    this.path = opts.path;
    this.status = opts.status ?? REQUEST_ANSWERS[code]?.status;
  }
}

/** The status and short text a request that ended with `err` is answered with; anything unforeseen is a 500. */
export function requestAnswer(err: unknown): { status: number; text: string } {
  const answer = (err instanceof PortierError && REQUEST_ANSWERS[err.code]) || INTERNAL;
  return { status: answer.status, text: answer.detail ? (err as PortierError).message : answer.text };
}

export const configError = (path: string, message: string, code: ErrorCode = 'CONFIG_INVALID'): PortierError =>
  new PortierError(code, message, { path });

/** Request-ending errors: the catalogue gives their status and answer (requestAnswer). */
export const requestError = (code: ErrorCode, message: string = ErrorCodes[code], cause?: unknown): PortierError =>
  new PortierError(code, message, { cause });

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
