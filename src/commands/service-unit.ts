import { statSync } from 'node:fs';
import path from 'node:path';
import type { Account } from '../privileges';

/**
 * The systemd unit `portier service install` writes: Portier runs as an
 * unprivileged user from the start, with CAP_NET_BIND_SERVICE as its one
 * capability, so it binds :80 and :443 (the default entrypoints) without
 * ever being root.
 */
export interface UnitOptions {
  account: Account;
  node: string;
  cli: string;
  /** Absolute path of the configuration file, if any. */
  config?: string;
  /** Static configuration flags (`--key.path=value`). */
  flags: string[];
}

/** An ExecStart argument: `$` and `%` taken literally, quoted when it holds a space, quote or backslash. */
function unitArg(arg: string): string {
  const literal = arg.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /[\s"'\\;]/.test(literal) ? `"${literal.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : literal;
}

/** A home the user owns, to keep state in (not nobody's `/nonexistent`, not daemon's `/usr/sbin`). */
function hasHome(a: Account): boolean {
  try {
    return statSync(a.home).uid === a.uid;
  } catch {
    return false;
  }
}

export function unitFile(o: UnitOptions): string {
  const exec = [o.node, o.cli, ...(o.config ? ['--config', o.config] : []), ...o.flags].map(unitArg).join(' ');
  // A user with a home keeps its own data directory (the local CA it trusted with `portier trust`); one without gets /var/lib/portier.
  const state = hasHome(o.account)
    ? []
    : ['StateDirectory=portier', 'StateDirectoryMode=0700', 'Environment=PORTIER_DATA_DIR=/var/lib/portier'];
  return `# Written by \`portier service install\`; \`portier service uninstall\` removes it.
[Unit]
Description=Portier: reverse proxy and service-discovery gateway
After=network-online.target docker.service
Wants=network-online.target

[Service]
Type=simple
User=${o.account.name}
Group=${o.account.gid}
ExecStart=${exec}
WorkingDirectory=${unitArg(o.config ? path.dirname(o.config) : '/')}
${[...state, 'RuntimeDirectory=portier', 'RuntimeDirectoryMode=0700', 'Environment=PORTIER_ENGINE_SOCKET=/run/portier/engine.sock'].join('\n')}
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
NoNewPrivileges=true
# SIGTERM to Portier alone: it drains its entrypoints and stops the runtime core's processes itself.
KillMode=mixed
TimeoutStopSec=30
Restart=on-failure

[Install]
WantedBy=multi-user.target
`;
}
