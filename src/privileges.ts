import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { configError } from './errors';
import type { StaticConfig } from './config/static';
import type { Logger } from './log/logger';
import { engineSocketPath } from './engine/socket-path';
import { portierDataDir } from './tls/data-dir';

/**
 * Ports below 1024 without running as root: what the kernel lets this
 * process bind, and dropping from root to an unprivileged user once every
 * listener is bound (docs/dev-machine.md).
 */

const CAP_NET_BIND_SERVICE = 10;

export interface PortRights {
  uid: number;
  /** Effective capabilities, from /proc/self/status CapEff. */
  capEff: bigint;
  /** net.ipv4.ip_unprivileged_port_start (1024 when unreadable, the kernel's default). */
  unprivilegedPortStart: number;
}

export function portRights(): PortRights {
  const read = (file: string): string | undefined => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
  };
  const cap = /^CapEff:\s*([0-9a-f]+)$/m.exec(read('/proc/self/status') ?? '');
  const start = read('/proc/sys/net/ipv4/ip_unprivileged_port_start')?.trim();
  return {
    uid: process.getuid?.() ?? -1,
    capEff: cap ? BigInt(`0x${cap[1]}`) : 0n,
    unprivilegedPortStart: start && /^\d+$/.test(start) ? Number(start) : 1024,
  };
}

/** Whether a listener on `port` can be bound: an unprivileged port, or CAP_NET_BIND_SERVICE (root has it unless a container took it away). */
export function canBindPort(port: number, rights: PortRights = portRights()): boolean {
  if (port >= rights.unprivilegedPortStart) return true;
  return (rights.capEff & (1n << BigInt(CAP_NET_BIND_SERVICE))) !== 0n;
}

export interface Account {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** A user by name or numeric uid, from /etc/passwd. */
export function lookupUser(nameOrUid: string, passwd = readPasswd()): Account | undefined {
  const numeric = /^\d+$/.test(nameOrUid);
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f.length < 7) continue;
    if (numeric ? f[2] === nameOrUid : f[0] === nameOrUid) return { name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] };
  }
  return undefined;
}

function readPasswd(): string {
  try {
    return readFileSync('/etc/passwd', 'utf8');
  } catch {
    return '';
  }
}

/**
 * `user: auto`: the owner of the state directory when that is not root
 * (a developer's own data directory), else `nobody`.
 */
export function defaultUser(stateDir: string, passwd = readPasswd()): string {
  try {
    const { uid } = statSync(stateDir);
    if (uid !== 0) return lookupUser(String(uid), passwd)?.name ?? String(uid);
  } catch {
    // No state directory yet: nobody owns it.
  }
  return 'nobody';
}

export interface Handover {
  /** Directories the user must own alone (mode 0700): the state directory, the engine socket's folder. */
  privateDirs: string[];
  /** Files opened as root that are reopened later (log files on SIGUSR1). */
  files: string[];
}

/**
 * Started as root with `user`: hands the state over, then gives up root
 * for good (supplementary groups from /etc/group, e.g. `docker`, then gid,
 * then uid). Call once every listener is bound, before any process is
 * started. Throws a configuration error naming `user` when it cannot.
 */
export function dropPrivileges(user: string, stateDir: string, handover: Handover): Account {
  const name = user === 'auto' ? defaultUser(stateDir) : user;
  const account = lookupUser(name);
  if (!account) throw configError('user', `no user ${JSON.stringify(name)} in /etc/passwd`);
  if (account.uid === 0) return account;
  for (const dir of handover.privateDirs) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chownTree(dir, account.uid, account.gid);
    chmodSync(dir, 0o700);
  }
  for (const file of handover.files) if (existsSync(file)) chownSync(file, account.uid, account.gid);
  // POSIX-only, and missing from @types/node 20.
  (process as { initgroups?: (user: string, extraGroup: number) => void }).initgroups?.(account.name, account.gid);
  process.setgid?.(account.gid);
  process.setuid?.(account.uid);
  // Processes the runtime core starts see the user they run as.
  process.env.HOME = account.home;
  process.env.USER = account.name;
  process.env.LOGNAME = account.name;
  return account;
}

function chownTree(p: string, uid: number, gid: number): void {
  const st = lstatSync(p);
  if (st.isSymbolicLink()) return;
  chownSync(p, uid, gid);
  if (st.isDirectory()) for (const entry of readdirSync(p)) chownTree(path.join(p, entry), uid, gid);
}

/**
 * The `listening` step of `portier` for static `user`: as root, drop to it
 * (the state directory, the default engine socket folder and the log files
 * handed over); not as root, a warning, since there is nothing to drop.
 */
export function dropAfterListening(config: StaticConfig, log: Logger, engineSocketFlag?: string): (() => void) | undefined {
  const user = config.user;
  if (user === undefined) {
    if (process.getuid?.() === 0) log.info('running as root; set user (--user NAME, or auto) to give it up once the ports are bound');
    return undefined;
  }
  if (process.getuid?.() !== 0) {
    log.warn('user: not started as root, so there is nothing to drop; ignored', { user });
    return undefined;
  }
  return () => {
    const stateDir = config.dataDir ?? portierDataDir();
    const runtime = config.providers.runtime;
    const socketDir = path.dirname(engineSocketPath(engineSocketFlag ?? (typeof runtime?.socket === 'string' ? runtime.socket : undefined)));
    const files = [config.log.filePath, config.accessLog?.filePath].filter((f): f is string => f !== undefined);
    // Only Portier's own default folder is taken over: a socket elsewhere (/tmp/x.sock) must not make /tmp private.
    const privateDirs = [stateDir, ...(socketDir === DEFAULT_SOCKET_DIR ? [socketDir] : [])];
    const account = dropPrivileges(user, stateDir, { privateDirs, files });
    log.info('root given up once the ports were bound', { user: account.name, uid: account.uid, gid: account.gid, stateDir });
  };
}

const DEFAULT_SOCKET_DIR = '/run/portier';
