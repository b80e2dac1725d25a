import type { IncomingMessage, ServerResponse } from 'node:http';

/** gRPC status codes Portier itself answers with (grpc/doc/statuscodes.md). */
export const GRPC_STATUS = { OK: 0, UNKNOWN: 2, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, INTERNAL: 13, UNIMPLEMENTED: 12, UNAVAILABLE: 14, UNAUTHENTICATED: 16 } as const;

const GRPC_TYPE = /^application\/grpc(?:[+;]|$)/i;

/** A gRPC call (not gRPC-Web, which browsers send as application/grpc-web and read as HTTP/1 bodies). */
export const isGrpc = (req: IncomingMessage): boolean => GRPC_TYPE.test(String(req.headers['content-type'] ?? ''));

/** Traefik's test for its `grpc` metrics label: any content type that starts so (gRPC-Web too). */
export const isGrpcFamily = (req: IncomingMessage): boolean => String(req.headers['content-type'] ?? '').startsWith('application/grpc');

const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/** `grpc-timeout` (at most 8 digits and a unit, gRPC over HTTP/2) in milliseconds; undefined when absent or malformed. */
export function grpcTimeoutMs(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  return m ? Math.max(1, Math.ceil(Number(m[1]) * UNIT_MS[m[2]])) : undefined;
}

/** The HTTP status of an answer Portier gives, as a gRPC status (the gRPC spec's HTTP-to-gRPC mapping; 504: deadline). */
export function grpcStatusOf(status: number): number {
  switch (status) {
    case 400:
      return GRPC_STATUS.INTERNAL;
    case 401:
      return GRPC_STATUS.UNAUTHENTICATED;
    case 403:
      return GRPC_STATUS.PERMISSION_DENIED;
    case 404:
      return GRPC_STATUS.UNIMPLEMENTED;
    case 413:
      return GRPC_STATUS.RESOURCE_EXHAUSTED;
    case 504:
      return GRPC_STATUS.DEADLINE_EXCEEDED;
    case 429:
    case 502:
    case 503:
      return GRPC_STATUS.UNAVAILABLE;
    default:
      return GRPC_STATUS.UNKNOWN;
  }
}

/** grpc-message is percent-encoded: printable ASCII but `%` as is. */
export const grpcMessage = (text: string): string => text.replace(/[^\x20-\x24\x26-\x7e]/gu, (c) => encodeURIComponent(c));

/**
 * Portier's own error answer to a gRPC call: HTTP 200 and the status in a
 * trailers-only response (one HEADERS frame with END_STREAM on HTTP/2),
 * as a gRPC client expects of any failure: a bare 502 would be reported
 * as UNKNOWN or INTERNAL with no message.
 */
export function answerGrpc(res: ServerResponse, httpStatus: number, text: string): void {
  res.statusCode = 200;
  res.setHeader('content-type', 'application/grpc');
  res.setHeader('grpc-status', String(grpcStatusOf(httpStatus)));
  res.setHeader('grpc-message', grpcMessage(text));
  res.end();
}
