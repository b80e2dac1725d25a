import type { Exchange } from '../proxy/exchange';

/** What an entrypoint reports of each finished request, for metrics and access logs. */
export interface RequestRecord {
  ex: Exchange;
  status: number;
  /** Request bytes read from the client (headers excluded). */
  bytesIn: number;
  /** Response body bytes written to the client. */
  bytesOut: number;
  durationMs: number;
  /** The client went away before the response was complete. */
  aborted: boolean;
}

export interface RequestObserver {
  requestEnded(record: RequestRecord): void;
  connectionOpened?(entryPoint: string, protocol: 'http' | 'https' | 'websocket'): void;
  connectionClosed?(entryPoint: string, protocol: 'http' | 'https' | 'websocket'): void;
}
