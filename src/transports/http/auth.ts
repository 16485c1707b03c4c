import type { IncomingMessage } from 'node:http';
import { crypto } from '../../lazy.ts';
import { header } from './request.ts';

/**
 * Client API keys, kept only as SHA-256 digests. A presented key is hashed and compared with
 * every digest in constant time; what is returned is the key's name, for logs and for binding
 * sessions to the key that opened them. (Digests are made on the first request, so an idle
 * server has not loaded node:crypto.)
 */
export class ApiKeys {
  private keys: readonly { name: string; key: string }[] | undefined;
  private digests: { name: string; digest: Buffer }[] | undefined;

  constructor(keys: readonly { name: string; key: string }[]) {
    this.keys = keys;
  }

  private get entries(): { name: string; digest: Buffer }[] {
    if (!this.digests) {
      this.digests = (this.keys ?? []).map(({ name, key }) => ({ name, digest: digest(key) }));
      this.keys = undefined;
    }
    return this.digests;
  }

  /** The name of the key the request presents (Authorization: Bearer, or X-API-Key), if valid. */
  identify(req: IncomingMessage): string | undefined {
    const presented = presentedKey(req);
    if (presented === undefined) return undefined;
    const candidate = digest(presented);
    const { timingSafeEqual } = crypto();
    let match: string | undefined;
    for (const entry of this.entries) {
      // Every digest is compared, so timing says nothing about which one matched.
      if (timingSafeEqual(candidate, entry.digest) && match === undefined) match = entry.name;
    }
    return match;
  }
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

function digest(key: string): Buffer {
  return crypto().createHash('sha256').update(key, 'utf8').digest();
}
