import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PortierError, errorMessage } from '../errors';
import { defaultUser, lookupUser } from '../privileges';
import { portierDataDir } from '../tls/data-dir';
import { unitFile } from './service-unit';

export const SERVICE_USAGE = 'portier service install [--user NAME] [--config FILE] [--key.path=VALUE ...] [--print] | uninstall | status';
const UNIT = '/etc/systemd/system/portier.service';
const NAME = 'portier.service';

/** What the command touches, replaceable in tests: the unit's path, how to tell systemd runs, how to run systemctl. */
export interface ServiceHost {
  unitPath: string;
  systemdRunning(): boolean;
  systemctl(args: string[]): number;
  out(text: string): void;
  err(text: string): void;
  uid: number;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export const realHost = (): ServiceHost => ({
  unitPath: UNIT,
  // sd_booted(3): systemd is the init system exactly when this directory exists.
  systemdRunning: () => existsSync('/run/systemd/system'),
  systemctl: (args) => spawnSync('systemctl', args, { stdio: 'inherit' }).status ?? 1,
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  uid: process.getuid?.() ?? -1,
  cwd: process.cwd(),
  env: process.env,
});

interface InstallArgs {
  user?: string;
  config?: string;
  flags: string[];
  print: boolean;
}

function parseInstall(argv: string[]): InstallArgs {
  const out: InstallArgs = { flags: [], print: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const [flag, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new PortierError('CONFIG_MISSING', 'expects a value', { path: flag });
      return v;
    };
    if (flag === '--user') out.user = value();
    else if (flag === '--config' || flag === '-c') out.config = value();
    else if (a === '--print') out.print = true;
    else if (a.startsWith('--') && eq > 0) out.flags.push(a);
    else throw new PortierError('CONFIG_INVALID', `unexpected argument ${JSON.stringify(a)}\nusage: ${SERVICE_USAGE}`);
  }
  return out;
}

/**
 * The user the service runs as: --user, else the one who ran `sudo`, else
 * the owner of the state directory when not root, else nobody.
 */
function serviceUser(args: InstallArgs, host: ServiceHost): string {
  return args.user ?? (host.env.SUDO_USER && host.env.SUDO_USER !== 'root' ? host.env.SUDO_USER : defaultUser(portierDataDir(host.env)));
}

function install(argv: string[], host: ServiceHost): number {
  const args = parseInstall(argv);
  const name = serviceUser(args, host);
  const account = lookupUser(name);
  if (!account) throw new PortierError('CONFIG_INVALID', `no user ${JSON.stringify(name)} in /etc/passwd`, { path: '--user' });
  if (account.uid === 0) throw new PortierError('CONFIG_INVALID', 'the service runs as an unprivileged user: name one with --user', { path: '--user' });
  const found = ['portier.yaml', 'portier.toml'].map((f) => path.join(host.cwd, f)).find((f) => existsSync(f));
  const config = args.config ? path.resolve(host.cwd, args.config) : found;
  if (config && !existsSync(config)) throw new PortierError('CONFIG_INVALID', `${config} does not exist`, { path: '--config' });
  const unit = unitFile({ account, node: process.execPath, cli: path.resolve(process.argv[1] ?? 'portier'), config, flags: args.flags });
  if (args.print) {
    host.out(unit);
    return 0;
  }
  if (host.uid !== 0) throw new PortierError('ENGINE', `writing ${host.unitPath} needs root: sudo portier service install ...`);
  writeFileSync(host.unitPath, unit, { mode: 0o644 });
  if (!host.systemdRunning()) {
    host.err(
      `portier service: wrote ${host.unitPath}, but systemd is not running on this machine (no /run/systemd/system), so nothing was enabled or started.\n` +
        `Start Portier another way, e.g. as root: ${process.execPath} ${path.resolve(process.argv[1] ?? 'portier')}${config ? ` --config ${config}` : ''} --user ${account.name}\n`,
    );
    return 1;
  }
  for (const step of [['daemon-reload'], ['enable', '--now', NAME]]) {
    const code = host.systemctl(step);
    if (code !== 0) {
      host.err(`portier service: systemctl ${step.join(' ')} failed (exit ${code})\n`);
      return code;
    }
  }
  host.out(`portier service: ${NAME} installed, enabled and started as ${account.name} (${host.unitPath})\n`);
  return 0;
}

function uninstall(host: ServiceHost): number {
  if (host.uid !== 0) throw new PortierError('ENGINE', `removing ${host.unitPath} needs root: sudo portier service uninstall`);
  const running = host.systemdRunning();
  if (running) host.systemctl(['disable', '--now', NAME]);
  const had = existsSync(host.unitPath);
  rmSync(host.unitPath, { force: true });
  if (running) host.systemctl(['daemon-reload']);
  host.out(`portier service: ${had ? `removed ${host.unitPath}` : `${host.unitPath} was not installed`}${running ? '' : ' (systemd is not running on this machine: nothing to stop)'}\n`);
  return 0;
}

function status(host: ServiceHost): number {
  if (host.systemdRunning()) return host.systemctl(['status', '--no-pager', NAME]);
  const installed = existsSync(host.unitPath);
  const user = installed ? /^User=(.*)$/m.exec(readFileSync(host.unitPath, 'utf8'))?.[1] : undefined;
  host.out(`portier service: ${installed ? `${host.unitPath} installed (User=${user ?? '?'})` : 'not installed'}; systemd is not running on this machine, so it is not running as a service\n`);
  return 3;
}

/** `portier service install|uninstall|status` (docs/dev-machine.md). */
export function serviceCommand(argv: string[], host: ServiceHost = realHost()): number {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case 'install':
        return install(rest, host);
      case 'uninstall':
        return uninstall(host);
      case 'status':
        return status(host);
      default:
        host.err(`usage: ${SERVICE_USAGE}\n`);
        return 2;
    }
  } catch (err) {
    if (err instanceof PortierError) throw err;
    throw new PortierError('ENGINE', `service ${sub}: ${errorMessage(err)}`);
  }
}

