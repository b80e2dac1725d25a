export { SwarmProvider } from './provider';
export { decodeSwarmOptions, type SwarmOptions } from './options';
