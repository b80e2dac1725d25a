import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Kills the replicas' process groups if the engine dies without stopping
 * them (SIGKILL, a crash past every handler). A tiny detached shell reads
 * `add <pgid>` / `del <pgid>` lines from the engine; when its stdin hits EOF
 * because the engine is gone, it sends SIGTERM, then SIGKILL a second later,
 * to every group still listed. A clean close tells it `exit` first.
 */
const SCRIPT = `
groups=" "
while read -r op pg; do
  case "$op" in
    add) groups="$groups$pg " ;;
    del) groups=$(printf '%s' "$groups" | sed "s/ $pg / /") ;;
    exit) exit 0 ;;
  esac
done
[ "$groups" = " " ] && exit 0
for pg in $groups; do kill -TERM "-$pg" 2>/dev/null; done
sleep 1
for pg in $groups; do kill -KILL "-$pg" 2>/dev/null; done
`;

export class Watchdog {
  private child?: ChildProcess;

  add(pgid: number): void {
    this.send(`add ${pgid}`);
  }

  remove(pgid: number): void {
    this.send(`del ${pgid}`);
  }

  close(): void {
    if (!this.child) return;
    this.send('exit');
    this.child.stdin?.end();
    this.child = undefined;
  }

  private send(line: string): void {
    if (!this.child) this.child = this.spawn();
    this.child.stdin?.write(line + '\n');
  }

  private spawn(): ChildProcess {
    const child = spawn('/bin/sh', ['-c', SCRIPT], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('error', () => undefined);
    child.stdin?.on('error', () => undefined);
    // The engine's own lifetime decides when to exit, not this pipe.
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    return child;
  }
}
