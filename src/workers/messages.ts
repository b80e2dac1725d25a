import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ProviderSnapshot } from '../dynamic/model';

/**
 * The IPC messages between the primary and its workers (docs/workers.md).
 * Every message has a `portier` tag, so Node's and prom-client's own
 * cluster messages pass through untouched.
 */

/** The primary's health checks' verdicts: service (qualified name) → URLs of its servers found down. */
export type DownServers = Record<string, string[]>;

/** A certificate the primary's TLS store holds that a worker cannot get itself (an ACME one). */
export interface SharedCertificate {
  group: string;
  key: string;
  certPem: string;
  keyPem: string;
}

/**
 * One change, whole: what the worker compiles into its next table.
 * `snapshots` is left out when only health or certificates changed.
 */
export interface UpdateMessage {
  portier: 'update';
  snapshots?: ProviderSnapshot[];
  down: DownServers;
  certificates?: SharedCertificate[];
  /** On a new worker's first update: keep the table ready, but bind nothing until told to serve (the group's spare). */
  standby?: boolean;
}

/** A worker's calls to the group state (rate limits, in-flight counts), sent together within one turn of its loop. */
export interface CallsMessage {
  portier: 'calls';
  calls: { seq: number; kind: string; payload: unknown }[];
}

export interface AnswersMessage {
  portier: 'answers';
  answers: { seq: number; value: unknown }[];
}

/** The primary asks for a worker's metric families (prom-client's JSON form); the worker answers with the same id. */
export interface MetricsRequest {
  portier: 'metrics?';
  id: number;
}

export interface MetricsAnswer {
  portier: 'metrics';
  id: number;
  metrics: unknown[];
}

/** A worker's state: `ready` for its first update (it listens for messages), `serving` once its entrypoints listen. */
export interface StateMessage {
  portier: 'ready' | 'serving';
}

/** A worker could not start serving (a port it cannot bind): it exits after this. */
export interface FailedMessage {
  portier: 'failed';
  error: string;
}

/** The primary's order to the spare: take a dead worker's place. */
export interface ServeMessage {
  portier: 'serve';
}

/** The primary's order to drain: stop accepting, finish in-flight requests within `graceMs`, exit. */
export interface DrainMessage {
  portier: 'drain';
  graceMs: number;
}

export type ToWorker = UpdateMessage | AnswersMessage | MetricsRequest | ServeMessage | DrainMessage;
export type FromWorker = CallsMessage | MetricsAnswer | StateMessage | FailedMessage;

export function isPortierMessage<M extends { portier: string }>(m: unknown): m is M {
  return typeof m === 'object' && m !== null && typeof (m as { portier?: unknown }).portier === 'string';
}

/** The unix socket the primary answers its workers' internal-service requests on (a worker knows its parent's pid). */
export const internalSocketPath = (primaryPid: number): string => path.join(tmpdir(), `portier-workers-${primaryPid}.sock`);
