import type { IncomingMessage } from 'node:http';
import type { KeyRing } from '../../keys.ts';
import { header } from './request.ts';

/**
 * The name of the client key a request presents (`Authorization: Bearer <key>`, or
 * `X-API-Key: <key>`), if it is one the ring knows. The name is what logs, metrics, session
 * ownership and per-key policy use; the key itself goes no further than this.
 */
export function identify(req: IncomingMessage, keys: KeyRing): string | undefined {
  const presented = presentedKey(req);
  return presented === undefined ? undefined : keys.identify(presented);
}

function presentedKey(req: IncomingMessage): string | undefined {
  const authorization = header(req, 'authorization');
  if (authorization !== undefined) {
    const match = /^\s*bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match) return match[1];
  }
  const apiKey = header(req, 'x-api-key')?.trim();
  return apiKey ? apiKey : undefined;
}
