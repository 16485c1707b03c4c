import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KeyRing } from '../../keys.ts';
import type { Logger } from '../../log.ts';
import { ErrorCode } from '../../protocol/errors.ts';
import { type Headers, sendRpcError } from './reply.ts';
import { header } from './request.ts';

/** How the HTTP transport tells who a request is from. */
export interface Authenticator {
  /**
   * The caller's name (logs, metrics, session and task ownership, per-key policy): `''` when
   * authentication is off; undefined once a refusal has been sent.
   */
  authenticate(req: IncomingMessage, res: ServerResponse, cors: Headers, path: string): string | undefined | Promise<string | undefined>;
  /** Answers a request it serves itself, before anyone is authenticated (OAuth metadata); true when it did. */
  serve?(req: IncomingMessage, res: ServerResponse, path: string): boolean;
  /** What /health adds. */
  health?(): Record<string, string>;
  close?(): void;
}

/** MCP_AUTH=none: everyone is the same anonymous caller. */
export const noAuthentication: Authenticator = { authenticate: () => '' };

/**
 * MCP_AUTH=apikey: `Authorization: Bearer <key>` or `X-API-Key: <key>`, one of the ring's
 * keys. The same 401 whatever failed (no key, a malformed header, a wrong key). The name is
 * what the rest of the server sees; the key itself goes no further than this.
 */
export function apiKeyAuthentication(keys: KeyRing, log: Logger): Authenticator {
  return {
    authenticate(req, res, cors, path) {
      const presented = presentedKey(req);
      const name = presented === undefined ? undefined : keys.identify(presented);
      if (name !== undefined) return name;
      log.info('request refused', { status: 401, method: req.method, path: path.slice(0, 100) });
      sendRpcError(
        res,
        401,
        ErrorCode.ServerError,
        'Unauthorized: send a valid API key as "Authorization: Bearer <key>" or "X-API-Key: <key>"',
        {
          ...cors,
          'www-authenticate': 'Bearer realm="openai-mcp-relay"',
        },
      );
      return undefined;
    },
  };
}

/** The bearer token of `Authorization: Bearer <token>`, if the header has that form. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const authorization = header(req, 'authorization');
  if (authorization === undefined) return undefined;
  return /^\s*bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
}

function presentedKey(req: IncomingMessage): string | undefined {
  const bearer = bearerToken(req);
  if (bearer !== undefined) return bearer;
  const apiKey = header(req, 'x-api-key')?.trim();
  return apiKey ? apiKey : undefined;
}
