import type { Handler } from '../proxy/exchange';
import type { StickyCookieConfig } from '../dynamic/model';
import { SmoothWeightedRoundRobin } from './wrr';
import { StickyCookie } from './sticky';

/** A `weighted` service: smooth WRR over other services (canary, blue/green), optionally sticky. */
export class WeightedService {
  private readonly wrr: SmoothWeightedRoundRobin<{ name: string; handler: Handler }>;
  private readonly sticky?: StickyCookie;
  private readonly byCookie = new Map<string, { name: string; handler: Handler }>();

  constructor(name: string, children: { name: string; weight: number; handler: Handler }[], sticky?: StickyCookieConfig) {
    this.wrr = new SmoothWeightedRoundRobin(children.map((c) => ({ item: c, weight: c.weight })));
    if (sticky) {
      this.sticky = new StickyCookie(sticky, name);
      for (const c of children) this.byCookie.set(StickyCookie.valueFor(c.name), c);
    }
  }

  readonly handler: Handler = (ex) => {
    const value = this.sticky?.read(ex.req);
    let child = value === undefined ? undefined : this.byCookie.get(value);
    if (!child) {
      child = this.wrr.next(() => true);
      if (child && this.sticky) this.sticky.write(ex.res, StickyCookie.valueFor(child.name));
    }
    if (!child) return Promise.reject(new Error('weighted service has no child'));
    return child.handler(ex);
  };
}
