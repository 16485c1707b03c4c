import type { Clock, Timer } from '../../../clock.ts';
import type { Logger } from '../../../log.ts';
import { isSecure } from '../../../oauth-settings.ts';

/** What this server needs from the authorization server's metadata (RFC 8414 / OpenID Connect Discovery). */
export interface ServerMetadata {
  issuer: string;
  jwksUri: string | undefined;
  introspectionEndpoint: string | undefined;
}

/** A metadata document, a key set or an introspection answer larger than this is refused. */
const MAX_DOCUMENT_BYTES = 1024 * 1024;
/** One request to the authorization server gets this long. */
const REQUEST_TIMEOUT_MS = 5_000;
/** Discovery retries after 1 s, doubling to a minute, until it succeeds. */
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 60_000;

/** A request to the authorization server that failed; its message is safe to log (no token, no secret). */
export class AuthorizationServerError extends Error {}

/**
 * The well-known URLs of an issuer's metadata, in the order MCP's authorization spec sets:
 * RFC 8414 with path insertion, then OpenID Connect Discovery with path insertion, then with
 * the path appended (only the first two for an issuer without a path).
 */
export function metadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, '');
  if (path === '') return [`${url.origin}/.well-known/oauth-authorization-server`, `${url.origin}/.well-known/openid-configuration`];
  return [
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
    `${url.origin}/.well-known/openid-configuration${path}`,
    `${url.origin}${path}/.well-known/openid-configuration`,
  ];
}

/** GETs (or POSTs) JSON from the authorization server: bounded in time and size, JSON or an error. */
export async function requestJson(url: string, init: RequestInit = {}): Promise<unknown> {
  let response: Response;
  try {
    // No redirects: a token or client secret must not follow one to another origin (or to plain http).
    response = await fetch(url, {
      ...init,
      redirect: 'error',
      headers: { accept: 'application/json', ...init.headers },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    throw new AuthorizationServerError(
      `${url} could not be reached (${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name})`,
    );
  }
  const text = await readCapped(response, url);
  if (!response.ok) throw new AuthorizationServerError(`${url} answered HTTP ${response.status}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new AuthorizationServerError(`${url} did not answer JSON`);
  }
}

async function readCapped(response: Response, url: string): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.length;
    if (bytes > MAX_DOCUMENT_BYTES) {
      await reader.cancel();
      throw new AuthorizationServerError(`${url} answered more than ${MAX_DOCUMENT_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads an issuer's metadata; the document's `issuer` must be the configured one exactly (RFC 8414 §3.3). */
export async function discover(issuer: string): Promise<ServerMetadata> {
  const failures: string[] = [];
  for (const url of metadataUrls(issuer)) {
    let document: unknown;
    try {
      document = await requestJson(url);
    } catch (error) {
      failures.push((error as Error).message);
      continue;
    }
    if (typeof document !== 'object' || document === null) {
      failures.push(`${url} is not a metadata document`);
      continue;
    }
    const fields = document as Record<string, unknown>;
    if (fields.issuer !== issuer) {
      throw new AuthorizationServerError(
        `${url} names the issuer ${JSON.stringify(String(fields.issuer).slice(0, 200))}, not MCP_OAUTH_ISSUER`,
      );
    }
    return {
      issuer,
      jwksUri: secureEndpoint(fields.jwks_uri, 'jwks_uri'),
      introspectionEndpoint: secureEndpoint(fields.introspection_endpoint, 'introspection_endpoint'),
    };
  }
  throw new AuthorizationServerError(failures.join('; '));
}

/** An endpoint the metadata names, if it is https (http only on loopback): every authorization server endpoint MUST be. */
function secureEndpoint(value: unknown, field: string): string | undefined {
  if (typeof value !== 'string') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AuthorizationServerError(`the metadata's ${field} is not a URL`);
  }
  if (!isSecure(url)) throw new AuthorizationServerError(`the metadata's ${field} is not an https URL`);
  return url.href;
}

/**
 * The authorization server as this process knows it: its metadata, discovered at start and
 * retried (1 s, doubling to 60 s) until it answers, so a server started while it is down
 * comes up anyway; and whether it answered the last time anyone asked (for /health).
 */
export class AuthorizationServer {
  metadata: ServerMetadata | undefined;
  /** The last request to it (discovery, keys, introspection) got an answer. */
  reachable = false;
  private readonly issuer: string;
  private readonly clock: Clock;
  private readonly log: Logger;
  private timer: Timer | undefined;
  private stopped = false;

  constructor(issuer: string, clock: Clock, log: Logger) {
    this.issuer = issuer;
    this.clock = clock;
    this.log = log;
  }

  /** Starts discovery; resolves after the first attempt, whatever it gave. */
  start(): Promise<void> {
    return this.attempt(RETRY_FIRST_MS);
  }

  /** Its endpoints are all configured: nothing to discover; reachable until a request says otherwise. */
  skipDiscovery(): void {
    this.reachable = true;
  }

  stop(): void {
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
  }

  /** Records how a request to it went. */
  answered(ok: boolean): void {
    this.reachable = ok;
  }

  private async attempt(nextWaitMs: number): Promise<void> {
    try {
      this.metadata = await discover(this.issuer);
      this.answered(true);
      this.log.info('authorization server discovered', { issuer: this.issuer, jwks_uri: this.metadata.jwksUri });
    } catch (error) {
      this.answered(false);
      if (this.stopped) return;
      this.log.warn('authorization server not reachable; retrying', {
        issuer: this.issuer,
        reason: (error as Error).message,
        retry_in_ms: nextWaitMs,
      });
      this.timer = this.clock.setTimeout(() => void this.attempt(Math.min(RETRY_MAX_MS, nextWaitMs * 2)), nextWaitMs);
    }
  }
}
