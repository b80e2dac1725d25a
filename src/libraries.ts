/**
 * Libraries only some configurations use, loaded on first use: acme-client
 * (with its X.509 and HTTP stack), dockerode (with gRPC and SSH) and ioredis
 * take seconds to load on a small machine, longer than the rest of Portier's
 * start, and a gateway with none of ACME, Docker or Redis never needs them.
 */
export const acmeClient = (): typeof import('acme-client') => require('acme-client');
export const dockerode = (): typeof import('dockerode') => require('dockerode');
export const ioredis = (): typeof import('ioredis') => require('ioredis');
