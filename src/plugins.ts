import type { StaticConfig } from './config/static';
import type { Provider } from './provider';
import type { Logger } from './log/logger';
import { FileProvider } from '../providers/file/index';
import { middlewareTypes as registry } from '../middlewares/index';
import type { MiddlewareType } from '../middlewares/types';

/**
 * The one place where src/ meets providers/ and middlewares/: it turns
 * the static configuration's provider sections into providers and exposes
 * the middleware registry.
 */
export interface PluginContext {
  log: Logger;
  /** Runs when Portier stops, after the gateway closed (e.g. stopping an embedded engine). */
  onClose?: () => Promise<void>;
}

export const middlewareTypes: ReadonlyMap<string, MiddlewareType<unknown>> = registry;

export async function buildProviders(config: StaticConfig, _ctx: PluginContext): Promise<Provider[]> {
  const providers: Provider[] = [];
  const file = config.providers.file;
  if (file && (file.filename || file.directory)) providers.push(new FileProvider({ filename: file.filename, directory: file.directory, watch: file.watch }));
  return providers;
}
