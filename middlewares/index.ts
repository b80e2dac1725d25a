import type { MiddlewareType } from './types';
import addPrefix from './addPrefix';
import basicAuth from './basicAuth';
import buffering from './buffering';
import chain from './chain';
import circuitBreaker from './circuitBreaker';
import compress from './compress';
import contentType from './contentType';
import digestAuth from './digestAuth';
import errors from './errors';
import forwardAuth from './forwardAuth';
import grpcWeb from './grpcWeb';
import headers from './headers';
import inFlightReq from './inFlightReq';
import ipAllowList from './ipAllowList';
import passTLSClientCert from './passTLSClientCert';
import rateLimit from './rateLimit';
import redirectRegex from './redirectRegex';
import redirectScheme from './redirectScheme';
import replacePath from './replacePath';
import replacePathRegex from './replacePathRegex';
import retry from './retry';
import stripPrefix from './stripPrefix';
import stripPrefixRegex from './stripPrefixRegex';

const all: MiddlewareType<any>[] = [
  addPrefix,
  basicAuth,
  buffering,
  chain,
  circuitBreaker,
  compress,
  contentType,
  digestAuth,
  errors,
  forwardAuth,
  grpcWeb,
  headers,
  inFlightReq,
  ipAllowList,
  passTLSClientCert,
  rateLimit,
  redirectRegex,
  redirectScheme,
  replacePath,
  replacePathRegex,
  retry,
  stripPrefix,
  stripPrefixRegex,
];

/** Traefik v2's names of middlewares renamed in v3, kept so v2 configurations still work. */
const ALIASES: Record<string, string> = { ipwhitelist: 'ipallowlist' };

/**
 * Every middleware type by its lowercased Traefik name (labels arrive
 * lowercased; file keys are looked up lowercased too).
 */
export const middlewareTypes: ReadonlyMap<string, MiddlewareType<any>> = (() => {
  const map = new Map(all.map((t) => [t.type.toLowerCase(), t] as const));
  for (const [alias, name] of Object.entries(ALIASES)) map.set(alias, map.get(name)!);
  return map;
})();
