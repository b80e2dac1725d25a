import { list, object, required, string } from '../src/config/decode';
import { configError } from '../src/errors';
import { compose, dispatchMiddleware, type Middleware } from '../src/proxy/exchange';
import { defineMiddleware } from './types';

const options = object({ middlewares: required(list(string)) });
type Options = ReturnType<typeof options>;

/** The middleware names a chain refers to, in order (as written: qualify them with the chain's provider). */
export function chainMembers(opts: Options): string[] {
  return [...opts.middlewares];
}

/**
 * The first cycle among chain references, as the path of names that closes
 * it (`['a', 'b', 'a']`), or undefined. Keys and member names must already
 * be qualified the same way; non-chain middlewares end a path.
 */
export function findChainCycle(middlewares: Record<string, { type: string; names: readonly string[] }>): string[] | undefined {
  const done = new Set<string>();
  const visit = (name: string, stack: string[]): string[] | undefined => {
    const at = stack.indexOf(name);
    if (at >= 0) return [...stack.slice(at), name];
    if (done.has(name)) return undefined;
    const m = middlewares[name];
    if (m && m.type.toLowerCase() === 'chain') {
      for (const member of m.names) {
        const cycle = visit(member, [...stack, name]);
        if (cycle) return cycle;
      }
    }
    done.add(name);
    return undefined;
  };
  for (const name of Object.keys(middlewares)) {
    const cycle = visit(name, []);
    if (cycle) return cycle;
  }
  return undefined;
}

/**
 * Runs other middlewares in order, as if the router listed them. The
 * gateway's `ctx.middleware` resolves each name (provider-qualified) and
 * reports a missing, disabled or cyclic member; that error disables the chain.
 */
export default defineMiddleware({
  type: 'chain',
  options,
  create(opts, ctx) {
    const members: Middleware[] = chainMembers(opts).map((name, i) => {
      try {
        const mw = ctx.middleware(name);
        if (!mw) throw new Error(`middleware ${name} does not exist`);
        return mw;
      } catch (err) {
        const message = (err as Error).message;
        throw configError(`middlewares[${i}]`, message, /cycle/.test(message) ? 'REF_CYCLE' : 'REF_UNKNOWN');
      }
    });
    return dispatchMiddleware((next) => compose(members, next));
  },
});
