import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../../../clock.ts';
import type { KeyRing } from '../../../keys.ts';
import type { Logger } from '../../../log.ts';
import type { OAuthSettings } from '../../../oauth-settings.ts';
import { ErrorCode } from '../../../protocol/errors.ts';
import { type Authenticator, bearerToken } from '../auth.ts';
import { type Headers, sendEmpty, sendJson, sendRpcError } from '../reply.ts';
import { TokenVerifier } from './verifier.ts';

const METADATA_PREFIX = '/.well-known/oauth-protected-resource';
/** Public metadata: any page may read it (RFC 9728 clients run in browsers too). */
const OPEN_CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, OPTIONS',
  'access-control-allow-headers': 'MCP-Protocol-Version',
};

/**
 * MCP_AUTH=oauth: the relay as an OAuth 2.1 resource server (MCP's authorization spec). It
 * serves its Protected Resource Metadata (RFC 9728) without authentication, and takes only
 * access tokens, in the Authorization header: none or a bad one is 401 with a challenge that
 * says where the metadata is and which scopes to ask for (`error="invalid_token"` for a bad
 * one); a good one without the scopes is 403 `insufficient_scope`; a token that cannot be
 * checked because the authorization server is out of reach is 503. The caller is the token's
 * subject (named by a keys-file entry, or `sub:<subject>`). No other token is accepted, and
 * the client's token goes no further than the check.
 */
export class OAuthGate implements Authenticator {
  private readonly settings: OAuthSettings;
  private readonly keys: KeyRing;
  private readonly log: Logger;
  private readonly verifier: Promise<TokenVerifier>;
  private ready: TokenVerifier | undefined;
  private readonly metadataPaths: Set<string>;
  private readonly metadataUrl: string;
  private readonly document: string;
  /** The scopes to ask for: the first of each required scope's alternatives. */
  private readonly requested: string;

  constructor(settings: OAuthSettings, keys: KeyRing, clock: Clock, log: Logger) {
    this.settings = settings;
    this.keys = keys;
    this.log = log;
    const resource = new URL(settings.resource);
    const path = resource.pathname === '/' ? '' : resource.pathname;
    // The path-suffixed form for the resource (and for /mcp, should a proxy map the path), and the root.
    this.metadataPaths = new Set([`${METADATA_PREFIX}${path}`, `${METADATA_PREFIX}/mcp`, METADATA_PREFIX]);
    this.metadataUrl = `${resource.origin}${METADATA_PREFIX}${path}`;
    this.requested = settings.scopes.map((alternatives) => alternatives[0]).join(' ');
    this.document = JSON.stringify({
      resource: settings.resource,
      authorization_servers: [settings.issuer],
      ...(settings.scopes.length > 0 ? { scopes_supported: settings.scopes.map((alternatives) => alternatives[0]) } : {}),
      bearer_methods_supported: ['header'],
      resource_name: 'openai-mcp-relay',
    });
    this.verifier = TokenVerifier.create(settings, clock, log).then((verifier) => (this.ready = verifier));
    // Should jose fail to load, the requests say so (503); the process stays up.
    this.verifier.catch((error: unknown) => log.error('OAuth token checks could not start', { error }));
  }

  serve(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    if (!this.metadataPaths.has(path)) return false;
    if (req.method === 'OPTIONS') {
      sendEmpty(res, 204, OPEN_CORS);
    } else if (req.method === 'GET' || req.method === 'HEAD') {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(this.document),
        'cache-control': 'max-age=300',
        ...OPEN_CORS,
      });
      res.end(req.method === 'HEAD' ? undefined : this.document);
    } else {
      sendJson(res, 405, { error: 'method_not_allowed', message: 'Use GET' }, { ...OPEN_CORS, allow: 'GET, OPTIONS' });
    }
    return true;
  }

  async authenticate(req: IncomingMessage, res: ServerResponse, cors: Headers, path: string): Promise<string | undefined> {
    const token = bearerToken(req);
    if (token === undefined) {
      this.refuse(res, 401, cors, path, undefined, undefined);
      return undefined;
    }
    let verifier: TokenVerifier;
    try {
      verifier = await this.verifier;
    } catch {
      sendRpcError(res, 503, ErrorCode.ServerError, 'Service Unavailable: tokens cannot be checked (see the server log)', {
        ...cors,
        'retry-after': 5,
      });
      return undefined;
    }
    const verdict = await verifier.verify(token, req.socket.remoteAddress ?? '');
    if (!verdict.ok) {
      if (verdict.unavailable) {
        // The details (internal addresses, errors) are for the log, not for whoever sent the token.
        this.log.warn('a token could not be checked', { reason: verdict.description, path: path.slice(0, 100) });
        sendRpcError(
          res,
          503,
          ErrorCode.ServerError,
          'Service Unavailable: the authorization server cannot be reached to check the token; try again',
          {
            ...cors,
            'retry-after': 5,
          },
        );
        return undefined;
      }
      this.refuse(res, 401, cors, path, 'invalid_token', verdict.description);
      return undefined;
    }
    const missing = this.settings.scopes.filter((alternatives) => !alternatives.some((scope) => verdict.scopes.has(scope)));
    if (missing.length > 0) {
      const names = missing.map((alternatives) => alternatives[0]).join(' ');
      this.refuse(res, 403, cors, path, 'insufficient_scope', `the token lacks the scope ${names}`);
      return undefined;
    }
    // A name that logs, metrics and ownership carry: bounded, printable.
    const claimed = verdict.sub ?? verdict.clientId ?? '';
    if (claimed.length > 256 || hasControlCharacters(claimed)) {
      this.refuse(res, 401, cors, path, 'invalid_token', 'the token subject is longer than 256 characters or holds control characters');
      return undefined;
    }
    return this.keys.nameForToken(verdict.sub, verdict.clientId);
  }

  health(): Record<string, string> {
    return { authorization_server: this.ready?.server.reachable ? 'reachable' : 'unreachable' };
  }

  close(): void {
    void this.verifier.then((verifier) => verifier.stop());
  }

  /** A 401 or 403 with its challenge (RFC 6750 §3, RFC 9728 §5.1). */
  private refuse(
    res: ServerResponse,
    status: 401 | 403,
    cors: Headers,
    path: string,
    error: string | undefined,
    description: string | undefined,
  ): void {
    const parts = [`resource_metadata="${this.metadataUrl}"`];
    if (this.requested) parts.push(`scope="${this.requested}"`);
    if (error) parts.push(`error="${error}"`);
    if (description) parts.push(`error_description="${description.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, "'")}"`);
    this.log.info('request refused', { status, path: path.slice(0, 100), ...(description ? { reason: description } : {}) });
    const message =
      status === 403
        ? `Forbidden: ${description}; ask the authorization server for a token with it`
        : `Unauthorized: ${description ?? 'no access token'}; send an OAuth access token for ${this.settings.resource} as "Authorization: Bearer <token>"`;
    sendRpcError(res, status, ErrorCode.ServerError, message, { ...cors, 'www-authenticate': `Bearer ${parts.join(', ')}` });
  }
}

function hasControlCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
