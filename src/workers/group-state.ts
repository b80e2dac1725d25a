import type { AnswersMessage, CallsMessage } from './messages';

/**
 * State that must hold for the whole worker group (rate-limit buckets,
 * in-flight counts) lives in the primary; a worker asks for it. Calls made
 * within one turn of a worker's event loop go out as one message, and the
 * primary answers them as one. Middlewares register the primary's side by
 * `kind` (they own the algorithm); src/workers/ only carries the calls.
 */
export interface GroupStateKind {
  /** Answers one call of `worker`. */
  answer(worker: number, payload: unknown): unknown;
  /** The worker exited: what it held is released. */
  gone?(worker: number): void;
}

const kinds = new Map<string, GroupStateKind>();

/** Registers the primary's side of a kind of call; a module does it once, when loaded. */
export function defineGroupState(kind: string, impl: GroupStateKind): void {
  kinds.set(kind, impl);
}

/** The primary: one message of calls, answered in one message. An unknown kind answers undefined. */
export function answerCalls(worker: number, msg: CallsMessage): AnswersMessage {
  return { portier: 'answers', answers: msg.calls.map((c) => ({ seq: c.seq, value: kinds.get(c.kind)?.answer(worker, c.payload) })) };
}

export function workerGone(worker: number): void {
  for (const k of kinds.values()) k.gone?.(worker);
}

interface Waiting {
  resolve: (value: unknown) => void;
  fallback: unknown;
}

/** A worker's side: calls waiting for their answer, and the batch not yet sent. */
class WorkerCalls {
  private seq = 0;
  private readonly waiting = new Map<number, Waiting>();
  private batch: CallsMessage['calls'] = [];

  constructor(private readonly send: (msg: CallsMessage) => boolean) {}

  call(kind: string, payload: unknown, fallback: unknown): Promise<unknown> {
    const seq = ++this.seq;
    if (this.batch.length === 0) setImmediate(() => this.flush());
    this.batch.push({ seq, kind, payload });
    return new Promise((resolve) => this.waiting.set(seq, { resolve, fallback }));
  }

  answered(msg: AnswersMessage): void {
    for (const a of msg.answers) {
      const w = this.waiting.get(a.seq);
      this.waiting.delete(a.seq);
      w?.resolve(a.value);
    }
  }

  /** The primary is gone (the worker is draining alone): every call waiting gets its fallback. */
  disconnected(): void {
    for (const w of this.waiting.values()) w.resolve(w.fallback);
    this.waiting.clear();
  }

  private flush(): void {
    const calls = this.batch;
    this.batch = [];
    if (!this.send({ portier: 'calls', calls })) for (const c of calls) this.answered({ portier: 'answers', answers: [{ seq: c.seq, value: this.waiting.get(c.seq)?.fallback }] });
  }
}

let worker: WorkerCalls | undefined;

/** Called once in a worker process, before its first table: from then on groupCall goes to the primary. */
export function connectWorkerCalls(send: (msg: CallsMessage) => boolean): WorkerCalls {
  worker = new WorkerCalls(send);
  return worker;
}

/**
 * In a worker: the primary's answer to the call (`fallback` when the
 * primary cannot be reached). Outside a worker group: undefined, and the
 * caller keeps its state itself.
 */
export function groupCall<T>(kind: string, payload: unknown, fallback: T): Promise<T> | undefined {
  return worker?.call(kind, payload, fallback) as Promise<T> | undefined;
}

/** Whether this process is a worker of a group (its state calls go to the primary). */
export const inWorkerGroup = (): boolean => worker !== undefined;
