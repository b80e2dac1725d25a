import { object, required, string } from '../src/config/decode';
import { defineMiddleware } from './types';

const options = object({ path: required(string) });

/** Replaces the upstream path; the previous one goes up in X-Replaced-Path. */
export default defineMiddleware({
  type: 'replacePath',
  plain: true,
  options,
  create({ path }) {
    return (next) => async (ex) => {
      ex.req.headers['x-replaced-path'] = ex.path;
      ex.path = path;
      await next(ex);
    };
  },
});
