import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Gives back the memory configuration changes leave behind. A change makes
 * the previous table's replaced objects, and the provider's read of the
 * file, garbage in the old generation, which V8 collects late: it first
 * grows the heap towards a multiple of the live size. At 10,000 routers
 * the live heap stayed flat over 100 changes while RSS climbed from 148 MB
 * to 190–400 MB. One full collection `everyMs` after a change (one per
 * `everyMs` however many changes come) keeps RSS near the live size. It
 * pauses the process then (tens of ms at 10,000 routers, a few ms for a
 * small table), only after changes, never per request. Changes during the
 * first `startupMs` are left to V8: start-up is a run of providers'
 * first reports, and a collection in the middle of it delays the first
 * request.
 */
export class HeapTrim {
  private timer?: NodeJS.Timeout;
  private gc?: () => void;
  private readonly born = Date.now();

  constructor(
    private readonly everyMs = 1000,
    private readonly startupMs = 5000,
  ) {}

  /** A change was applied: a collection follows within `everyMs`, unless one is already due. */
  changed(): void {
    if (this.timer || Date.now() - this.born < this.startupMs) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.collect();
    }, this.everyMs);
    this.timer.unref();
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private collect(): void {
    if (!this.gc) {
      // Node offers V8's collector only behind --expose-gc; the flag takes effect for a new context.
      v8.setFlagsFromString('--expose-gc');
      this.gc = vm.runInNewContext('gc') as () => void;
    }
    this.gc();
  }
}
