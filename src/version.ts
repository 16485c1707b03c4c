import { createRequire } from 'node:module';

/** Replaced by the bundler with the package version; read from package.json when run from source. */
declare const __RELAY_VERSION__: string | undefined;

export const NAME = 'openai-mcp-relay';
export const TITLE = 'OpenAI MCP Relay';
export const VERSION: string =
  typeof __RELAY_VERSION__ === 'string'
    ? __RELAY_VERSION__
    : (createRequire(import.meta.url)('../package.json') as { version: string }).version;
