import type { Clock } from '../../../clock.ts';
import { crypto } from '../../../lazy.ts';
import type { OAuthSettings } from '../../../oauth-settings.ts';
import { type AuthorizationServer, requestJson } from './discovery.ts';
import { audienceMatches, refused, unavailable, type Verdict } from './verdict.ts';

/** An active token's answer is reused until the token expires, but no longer than this. */
const ACTIVE_FOR_MS = 5 * 60_000;
/** An inactive or refused token's answer is reused this long. */
const INACTIVE_FOR_MS = 10_000;
const MAX_CACHED = 10_000;
/** Introspection requests in flight at once; more wait, up to MAX_WAITING, then get 503. */
const MAX_IN_FLIGHT = 32;
const MAX_WAITING = 512;
/** Checks one client address may have running or waiting: junk tokens from one place cannot take every slot. */
const MAX_PER_ADDRESS = 4;

/**
 * RFC 7662 token introspection, for authorization servers that issue opaque tokens: POSTs the
 * token to the introspection endpoint with this server's client credentials (HTTP Basic), and
 * accepts it only when active, from our issuer, for our resource (`aud`), and not expired.
 * Answers are cached by the token's SHA-256 (the token itself is never kept): an active one
 * until it expires (at most 5 minutes), a refusal 10 s; at most 32 requests go out at once.
 */
export class Introspector {
  private readonly settings: OAuthSettings;
  private readonly introspection: NonNullable<OAuthSettings['introspection']>;
  private readonly server: AuthorizationServer;
  private readonly clock: Clock;
  private readonly accepted = new Map<string, { until: number; verdict: Verdict }>();
  private readonly refusals = new Map<string, { until: number; verdict: Verdict }>();
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly byAddress = new Map<string, number>();

  constructor(settings: OAuthSettings, server: AuthorizationServer, clock: Clock) {
    this.settings = settings;
    this.introspection = settings.introspection!;
    this.server = server;
    this.clock = clock;
  }

  async check(token: string, address: string): Promise<Verdict> {
    const now = this.clock.now();
    const digest = crypto().createHash('sha256').update(token).digest('base64url');
    for (const cache of [this.accepted, this.refusals]) {
      const cached = cache.get(digest);
      if (cached && cached.until > now) return cached.verdict;
      if (cached) cache.delete(digest);
    }
    const url = this.introspection.url ?? this.server.metadata?.introspectionEndpoint;
    if (url === undefined) return unavailable('the authorization server has no introspection endpoint known yet');
    const mine = this.byAddress.get(address) ?? 0;
    if (mine >= MAX_PER_ADDRESS) return unavailable(`too many token checks at once from ${address}`);
    if (this.inFlight >= MAX_IN_FLIGHT && this.waiting.length >= MAX_WAITING) return unavailable('too many token checks at once');
    this.byAddress.set(address, mine + 1);
    try {
      if (this.inFlight >= MAX_IN_FLIGHT) await new Promise<void>((resolve) => this.waiting.push(resolve));
      this.inFlight++;
      const verdict = await this.introspect(url, token, now);
      const until = verdict.ok ? Math.min(verdict.expiresAt ?? now + ACTIVE_FOR_MS, now + ACTIVE_FOR_MS) : now + INACTIVE_FOR_MS;
      if (!(!verdict.ok && verdict.unavailable)) remember(verdict.ok ? this.accepted : this.refusals, digest, until, verdict);
      return verdict;
    } finally {
      this.inFlight--;
      this.waiting.shift()?.();
      const left = (this.byAddress.get(address) ?? 1) - 1;
      if (left === 0) this.byAddress.delete(address);
      else this.byAddress.set(address, left);
    }
  }

  private async introspect(url: string, token: string, now: number): Promise<Verdict> {
    let answer: unknown;
    try {
      const credentials = Buffer.from(
        `${encodeURIComponent(this.introspection.clientId)}:${encodeURIComponent(this.introspection.clientSecret)}`,
      );
      answer = await requestJson(url, {
        method: 'POST',
        headers: { authorization: `Basic ${credentials.toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
      });
      this.server.answered(true);
    } catch (error) {
      this.server.answered(false);
      return unavailable(`token introspection failed: ${(error as Error).message}`);
    }
    return this.judge(answer, now);
  }

  private judge(answer: unknown, now: number): Verdict {
    if (typeof answer !== 'object' || answer === null) return refused('the introspection answer was not an object');
    const fields = answer as Record<string, unknown>;
    if (fields.active !== true) return refused('the token is not active');
    if (fields.iss !== undefined && fields.iss !== this.settings.issuer) return refused('the token is from another issuer');
    if (!audienceMatches(fields.aud, this.settings.resource)) return refused('the token is not for this resource (aud)');
    const expiresAt = typeof fields.exp === 'number' ? fields.exp * 1000 : undefined;
    if (expiresAt !== undefined && expiresAt <= now) return refused('the token has expired');
    const sub = typeof fields.sub === 'string' && fields.sub ? fields.sub : undefined;
    const clientId = typeof fields.client_id === 'string' && fields.client_id ? fields.client_id : undefined;
    if (sub === undefined && clientId === undefined) return refused('the token names no subject or client');
    const scopes = typeof fields.scope === 'string' ? fields.scope.split(' ').filter(Boolean) : [];
    return { ok: true, sub, clientId, scopes: new Set(scopes), ...(expiresAt !== undefined ? { expiresAt } : {}) };
  }
}

function remember(cache: Map<string, { until: number; verdict: Verdict }>, digest: string, until: number, verdict: Verdict): void {
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
  cache.set(digest, { until, verdict });
}
