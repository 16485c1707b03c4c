import type { Clock } from '../../../clock.ts';
import type { Logger } from '../../../log.ts';
import type { OAuthSettings } from '../../../oauth-settings.ts';
import { AuthorizationServer } from './discovery.ts';
import { Introspector } from './introspection.ts';
import { JwksCache, type KeySet } from './jwks.ts';
import { audienceMatches, refused, unavailable, type Verdict } from './verdict.ts';

type Jose = typeof import('./jose.ts');

/** Asymmetric algorithms only: never `none`, never a MAC whose key a public JWKS could supply. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
/** Clocks disagree a little: `exp` and `nbf` are read with this much leeway. */
const CLOCK_SKEW_S = 30;
/** JWT `typ` values access tokens come with (RFC 9068's, and the generic one many servers use). */
const ACCEPTED_TYPES = new Set(['jwt', 'at+jwt', 'application/at+jwt']);
const MAX_TOKEN_LENGTH = 16 * 1024;
const UNKNOWN_KEY = 'the token is signed with a key the authorization server does not list';
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Checks access tokens as an OAuth 2.1 resource server must: a JWT against the issuer's keys
 * (jose's jwtVerify: signature, an asymmetric algorithm, `iss` exactly MCP_OAUTH_ISSUER, `exp`
 * and `nbf` with 30 s of skew on this server's clock) and for this resource (`aud`, RFC 8707);
 * an opaque token through introspection, when configured. The token's `sub` (else its client
 * id) names the caller; its scopes are what it may do.
 */
export class TokenVerifier {
  readonly server: AuthorizationServer;
  private readonly settings: OAuthSettings;
  private readonly clock: Clock;
  private readonly jose: Jose;
  private readonly keys: JwksCache;
  private readonly introspector: Introspector | undefined;

  private constructor(settings: OAuthSettings, jose: Jose, clock: Clock, log: Logger) {
    this.settings = settings;
    this.clock = clock;
    this.jose = jose;
    this.server = new AuthorizationServer(settings.issuer, clock, log);
    this.keys = new JwksCache(jose, this.server, settings.jwksUrl, clock, log);
    this.introspector = settings.introspection ? new Introspector(settings, this.server, clock) : undefined;
  }

  /** Loads jose (only OAuth mode pays for it) and starts discovering the authorization server. */
  static async create(settings: OAuthSettings, clock: Clock, log: Logger): Promise<TokenVerifier> {
    const verifier = new TokenVerifier(settings, await import('./jose.ts'), clock, log);
    // Discovery is needed only for what is not configured: the keys' URL, the introspection endpoint.
    const needed = settings.jwksUrl === undefined || (settings.introspection !== undefined && settings.introspection.url === undefined);
    if (needed) await verifier.server.start();
    else verifier.server.skipDiscovery();
    return verifier;
  }

  /** Checks a token; `address` (the client's) bounds how many introspections one place may cause. */
  async verify(token: string, address = ''): Promise<Verdict> {
    if (token.length > MAX_TOKEN_LENGTH) return refused('the token is too long');
    if (!JWT_SHAPE.test(token)) {
      return this.introspector
        ? this.introspector.check(token, address)
        : refused('the token is not a JWT, and no introspection is configured');
    }
    let header: ReturnType<Jose['decodeProtectedHeader']>;
    try {
      header = this.jose.decodeProtectedHeader(token);
    } catch {
      return refused('the token is not a well-formed JWT');
    }
    const type = typeof header.typ === 'string' ? header.typ.toLowerCase() : undefined;
    if (type !== undefined && !ACCEPTED_TYPES.has(type)) return refused(`a token of type "${type.slice(0, 40)}" is not an access token`);
    const keys = await this.keys.current();
    if (!keys) return unavailable("the authorization server's keys could not be fetched yet");
    const first = await this.check(token, keys);
    if (first !== 'unknown-key') return first;
    // A key we lack: perhaps the issuer rotated its keys (fetched again at most every 30 s).
    const refresh = await this.keys.refreshForUnknownKey();
    if (refresh === 'failed') return unavailable("the token's key is not known, and the authorization server's keys could not be fetched");
    if (refresh === 'cooling') return refused(UNKNOWN_KEY);
    const again = await this.check(token, (await this.keys.current()) ?? keys);
    return again === 'unknown-key' ? refused(UNKNOWN_KEY) : again;
  }

  stop(): void {
    this.server.stop();
  }

  private async check(token: string, keys: KeySet): Promise<Verdict | 'unknown-key'> {
    const { errors, jwtVerify } = this.jose;
    const options = {
      issuer: this.settings.issuer,
      algorithms: ALGORITHMS,
      clockTolerance: CLOCK_SKEW_S,
      currentDate: new Date(this.clock.now()),
      requiredClaims: ['exp'],
    };
    let payload: Awaited<ReturnType<Jose['jwtVerify']>>['payload'] | undefined;
    try {
      ({ payload } = await jwtVerify(token, keys, options));
    } catch (error) {
      if (error instanceof errors.JWKSMultipleMatchingKeys) {
        // A token without `kid` while the set holds several keys of its kind (mid-rotation): each is tried.
        for await (const key of error as unknown as AsyncIterable<Parameters<Jose['jwtVerify']>[1]>) {
          try {
            ({ payload } = await jwtVerify(token, key, options));
            break;
          } catch (again) {
            if (!(again instanceof errors.JWSSignatureVerificationFailed)) return failureOf(again, errors);
          }
        }
        if (!payload) return refused("the token's signature does not verify");
      } else {
        return failureOf(error, errors);
      }
    }
    // An ID token (or another JWT) is not an access token, whatever its audience says.
    if (payload.nonce !== undefined || (typeof payload.typ === 'string' && payload.typ.toLowerCase() !== 'bearer')) {
      return refused('the token is not an access token');
    }
    if (!audienceMatches(payload.aud, this.settings.resource)) return refused('the token is not for this resource (aud)');
    const sub = nonEmpty(payload.sub);
    const clientId = nonEmpty(payload.client_id) ?? nonEmpty(payload.azp);
    if (sub === undefined && clientId === undefined) return refused('the token names no subject or client');
    return { ok: true, sub, clientId, scopes: scopesOf(payload), ...(payload.exp !== undefined ? { expiresAt: payload.exp * 1000 } : {}) };
  }
}

/** Why jose refused a token, in words for the challenge. */
function failureOf(error: unknown, errors: Jose['errors']): Verdict | 'unknown-key' {
  if (error instanceof errors.JWKSNoMatchingKey) return 'unknown-key';
  if (error instanceof errors.JWTExpired) return refused('the token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) return refused(`the token's "${error.claim}" claim is not acceptable`);
  if (error instanceof errors.JOSEAlgNotAllowed) return refused('the token is signed with an algorithm this server does not accept');
  return refused("the token's signature does not verify");
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** `scope` (a space-separated string), or `scp` (a string or a list, as some servers send it). */
function scopesOf(payload: Record<string, unknown>): Set<string> {
  const scopes = new Set<string>();
  for (const claim of [payload.scope, payload.scp]) {
    if (typeof claim === 'string') for (const scope of claim.split(' ')) if (scope) scopes.add(scope);
    if (Array.isArray(claim)) for (const scope of claim) if (typeof scope === 'string' && scope) scopes.add(scope);
  }
  return scopes;
}
