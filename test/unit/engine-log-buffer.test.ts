import t from 'tap';
import { LogBuffer } from '../../src/engine/log-buffer';

const cases: { name: string; maxLines: number; maxBytes: number; writes: [('stdout' | 'stderr'), string][]; end?: boolean; tail?: number; want: string[] }[] = [
  { name: 'splits chunks into lines', maxLines: 10, maxBytes: 1000, writes: [['stdout', 'a\nb'], ['stdout', 'c\n']], want: ['stdout:a', 'stdout:bc'] },
  { name: 'streams keep their own partial line', maxLines: 10, maxBytes: 1000, writes: [['stdout', 'out'], ['stderr', 'err\n'], ['stdout', '!\n']], want: ['stderr:err', 'stdout:out!'] },
  { name: 'keeps the newest lines within the line budget', maxLines: 2, maxBytes: 1000, writes: [['stdout', '1\n2\n3\n']], want: ['stdout:2', 'stdout:3'] },
  { name: 'keeps the newest lines within the byte budget', maxLines: 100, maxBytes: 8, writes: [['stdout', 'aaa\nbbb\nccc\n']], want: ['stdout:bbb', 'stdout:ccc'] },
  { name: 'flushes a partial line at the end', maxLines: 10, maxBytes: 1000, writes: [['stdout', 'no newline']], end: true, want: ['stdout:no newline'] },
  { name: 'tail', maxLines: 10, maxBytes: 1000, writes: [['stdout', '1\n2\n3\n']], tail: 1, want: ['stdout:3'] },
  { name: 'tail 0', maxLines: 10, maxBytes: 1000, writes: [['stdout', '1\n']], tail: 0, want: [] },
];

for (const c of cases) {
  const b = new LogBuffer(c.maxLines, c.maxBytes);
  for (const [stream, text] of c.writes) b.write(stream, Buffer.from(text));
  if (c.end) b.end('stdout');
  t.same(b.snapshot(c.tail).map((l) => `${l.stream}:${l.text}`), c.want, c.name);
}
