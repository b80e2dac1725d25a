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
  STOPPED: 'abandoned because the process is stopping',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

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
    this.status = opts.status;
  }
}

export const configError = (path: string, message: string, code: ErrorCode = 'CONFIG_INVALID'): PortierError =>
  new PortierError(code, message, { path });

/** Request-ending errors, mapped to a status and a short body by the entrypoint. */
export const requestError = (code: ErrorCode, status: number, message: string = ErrorCodes[code], cause?: unknown): PortierError =>
  new PortierError(code, message, { status, cause });

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
