/**
 * One JSON file per ACME resolver: the account key, the certificates with
 * their keys, and the retry state of failing domain sets, so a restart
 * neither re-orders a valid certificate nor hammers the CA. It holds private
 * keys, so it must be mode 0600 (as Traefik insists too); it is replaced
 * atomically and never truncated. An empty file (`touch acme.json`) is an
 * empty store.
 */
import fs from 'node:fs';
import { configError, errorMessage, PortierError } from '../errors';
import { isRecord } from '../config/decode';
import { removeStaleTempFiles, writeFileAtomicSync } from './atomic-file';

export interface StoredCertificate {
  main: string;
  sans: string[];
  /** PEM chain, leaf first. */
  certificate: string;
  key: string;
  notBefore: string;
  notAfter: string;
  /** The challenge types that validated its names (`dns-01`, …); absent in files written before it was kept. */
  challenges?: string[];
  renewedAt?: string;
}

export interface FailureState {
  /** Consecutive failed orders. */
  attempts: number;
  lastAttemptAt: string;
  /** No new order for this domain set before this time. */
  nextAttemptAt: string;
  lastError: string;
}

export interface AcmeStorageData {
  version: 1;
  caServer?: string;
  account?: { key: string; url?: string; email?: string };
  certificates: StoredCertificate[];
  /** Keyed by domain set (`main,san1,san2`). */
  failures: Record<string, FailureState>;
}

export const emptyStorage = (): AcmeStorageData => ({ version: 1, certificates: [], failures: {} });

export class AcmeStorage {
  constructor(
    readonly file: string,
    /** The config path that named the file, for errors. */
    private readonly configPath: string,
  ) {}

  /** Reads the file; throws a configuration error naming it when it is unsafe or unreadable. */
  load(): AcmeStorageData {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyStorage();
      throw this.error(`cannot read ${this.file}: ${errorMessage(err)}`, err);
    }
    if (!stat.isFile()) throw this.error(`${this.file} is not a regular file`);
    const mode = stat.mode & 0o777;
    if (mode & 0o077) {
      throw this.error(`${this.file} holds private keys but is readable by others (mode ${mode.toString(8).padStart(4, '0')}): run chmod 600 ${this.file}`);
    }
    removeStaleTempFiles(this.file);
    const text = fs.readFileSync(this.file, 'utf8');
    if (text.trim() === '') return emptyStorage();
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      throw this.error(`${this.file} is not valid JSON (${errorMessage(err)}); fix or move it away, Portier will not overwrite it`, err);
    }
    if (!isRecord(data) || data.version !== 1 || !Array.isArray(data.certificates) || !isRecord(data.failures)) {
      throw this.error(`${this.file} is not a Portier ACME storage file (version 1); move it away, Portier will not overwrite it`);
    }
    return data as unknown as AcmeStorageData;
  }

  save(data: AcmeStorageData): void {
    writeFileAtomicSync(this.file, JSON.stringify(data, null, 2) + '\n', 0o600);
  }

  private error(message: string, cause?: unknown): PortierError {
    const e = configError(this.configPath, message);
    return cause === undefined ? e : new PortierError(e.code, message, { path: this.configPath, cause });
  }
}
