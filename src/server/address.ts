import { parseAddress } from './entrypoint';

/** True when an entrypoint address binds only to loopback (127.0.0.0/8, ::1, localhost). */
export function isLoopbackAddress(address: string): boolean {
  const { host } = parseAddress(address);
  if (!host) return false;
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
