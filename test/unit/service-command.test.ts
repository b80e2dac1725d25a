import t from 'tap';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serviceCommand, type ServiceHost } from '../../src/commands/service';

interface Seen {
  out: string;
  err: string;
  systemctl: string[];
}

function host(dir: string, over: Partial<ServiceHost>, seen: Seen): ServiceHost {
  return {
    unitPath: path.join(dir, 'portier.service'),
    systemdRunning: () => false,
    systemctl: (args) => {
      seen.systemctl.push(args.join(' '));
      return 0;
    },
    out: (s) => (seen.out += s),
    err: (s) => (seen.err += s),
    uid: 0,
    cwd: dir,
    env: {},
    ...over,
  };
}

t.test('portier service: the unit, and what happens with and without systemd', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'portier-service-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = path.join(dir, 'my config.yaml');
  writeFileSync(config, 'entryPoints: {}\n');
  const unitLines = [
    /^User=nobody$/m,
    /^Group=65534$/m,
    new RegExp(`^ExecStart=${process.execPath.replace(/[/.]/g, '\\$&')} \\S+ --config "${config.replace(/[/.]/g, '\\$&')}" --log.level=debug --entryPoints.web.address=:80$`, 'm'),
    /^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m,
    /^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$/m,
    /^StateDirectory=portier$/m,
    /^Environment=PORTIER_DATA_DIR=\/var\/lib\/portier$/m,
    /^Environment=PORTIER_ENGINE_SOCKET=\/run\/portier\/engine\.sock$/m,
    /^WantedBy=multi-user\.target$/m,
  ];
  const cases: { name: string; argv: string[]; over?: Partial<ServiceHost>; code: number | RegExp; out?: RegExp[]; err?: RegExp; systemctl?: string[]; unit?: 'written' | 'absent' }[] = [
    { name: '--print shows the unit', argv: ['install', '--print', '--user', 'nobody', '--config', config, '--log.level=debug', '--entryPoints.web.address=:80'], code: 0, out: [/^# Written by `portier service install`/, /^KillMode=mixed$/m], unit: 'absent' },
    { name: 'a user without a home of its own keeps its state in /var/lib/portier', argv: ['install', '--print', '--user', 'daemon'], code: 0, out: [/^User=daemon$/m, /^StateDirectory=portier$/m] },
    { name: 'the sudo user by default', argv: ['install', '--print'], over: { env: { SUDO_USER: 'daemon' } }, code: 0, out: [/^User=daemon$/m] },
    { name: 'no systemd: written, and said so', argv: ['install', '--user', 'nobody'], code: 1, err: /wrote .*portier\.service, but systemd is not running on this machine \(no \/run\/systemd\/system\), so nothing was enabled or started\.\nStart Portier another way, e\.g\. as root: .* --user nobody/, systemctl: [], unit: 'written' },
    { name: 'status without systemd', argv: ['status'], code: 3, out: [/portier\.service installed \(User=nobody\); systemd is not running on this machine/] },
    { name: 'with systemd: reloaded, enabled and started', argv: ['install', '--user', 'nobody'], over: { systemdRunning: () => true }, code: 0, out: [/portier\.service installed, enabled and started as nobody/], systemctl: ['daemon-reload', 'enable --now portier.service'], unit: 'written' },
    { name: 'status with systemd is systemctl status', argv: ['status'], over: { systemdRunning: () => true }, code: 0, systemctl: ['status --no-pager portier.service'] },
    { name: 'uninstall with systemd', argv: ['uninstall'], over: { systemdRunning: () => true }, code: 0, out: [/removed .*portier\.service/], systemctl: ['disable --now portier.service', 'daemon-reload'], unit: 'absent' },
    { name: 'not root', argv: ['install', '--user', 'nobody'], over: { uid: 1000 }, code: /needs root: sudo portier service install/, unit: 'absent' },
    { name: 'root is not a service user', argv: ['install', '--print', '--user', 'root'], code: /--user: the service runs as an unprivileged user/ },
    { name: 'an unknown user', argv: ['install', '--print', '--user', 'no-such-user'], code: /--user: no user "no-such-user"/ },
    { name: 'an unknown subcommand', argv: ['start'], code: 2, err: /^usage: portier service install/ },
  ];
  for (const c of cases) {
    const seen: Seen = { out: '', err: '', systemctl: [] };
    let code: number | Error;
    try {
      code = serviceCommand(c.argv, host(dir, c.over ?? {}, seen));
    } catch (err) {
      code = err as Error;
    }
    if (c.code instanceof RegExp) t.match(code instanceof Error ? code.message : code, c.code, `${c.name}: error`);
    else t.equal(code, c.code, `${c.name}: exit code`);
    for (const re of c.out ?? []) t.match(seen.out, re, `${c.name}: output`);
    if (c.err) t.match(seen.err, c.err, `${c.name}: message`);
    if (c.systemctl) t.same(seen.systemctl, c.systemctl, `${c.name}: systemctl`);
    if (c.unit) t.equal(existsSync(path.join(dir, 'portier.service')), c.unit === 'written', `${c.name}: unit ${c.unit}`);
    if (c.argv.includes(config)) for (const re of unitLines) t.match(seen.out, re, `${c.name}: ${re.source}`);
  }
});
