import type { Clock } from '../../../clock.ts';
import type { Logger } from '../../../log.ts';
import { type AuthorizationServer, AuthorizationServerError, requestJson } from './discovery.ts';

type Jose = typeof import('./jose.ts');
/** A key set jose can verify against. */
export type KeySet = ReturnType<Jose['createLocalJWKSet']>;

/** A token signed with a key we do not have may make us fetch the keys again, at most this often. */
const UNKNOWN_KEY_COOLDOWN_MS = 30_000;
/** Keys older than this are fetched again before use (kept if the fetch fails). */
const MAX_AGE_MS = 10 * 60_000;
/** After a failed fetch, the next waits this long: an issuer that is down is not asked at every request. */
const RETRY_AFTER_FAILURE_MS = 5_000;

/**
 * The authorization server's signing keys (its `jwks_uri`, or MCP_OAUTH_JWKS_URL), fetched by
 * this server, on its clock: fetched when first needed, again after ten minutes, and again when
 * a token names a key the set lacks (a rotation), but at most every 30 s however many unknown
 * key ids come in, so made-up ids cannot make us hammer the issuer. Keys that were fetched
 * stay in use while the issuer is down.
 */
export class JwksCache {
  private readonly jose: Jose;
  private readonly server: AuthorizationServer;
  private readonly override: string | undefined;
  private readonly clock: Clock;
  private readonly log: Logger;
  private keys: KeySet | undefined;
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private attemptedAt = Number.NEGATIVE_INFINITY;
  private failedAt = Number.NEGATIVE_INFINITY;
  private inFlight: Promise<boolean> | undefined;

  constructor(jose: Jose, server: AuthorizationServer, override: string | undefined, clock: Clock, log: Logger) {
    this.jose = jose;
    this.server = server;
    this.override = override;
    this.clock = clock;
    this.log = log;
  }

  /**
   * The keys to verify with, or undefined when none could ever be fetched. Old keys are
   * refreshed in the background: a request never waits on an issuer that does not answer
   * while keys are at hand.
   */
  async current(): Promise<KeySet | undefined> {
    const now = this.clock.now();
    if (now - this.fetchedAt >= MAX_AGE_MS && now - this.failedAt >= RETRY_AFTER_FAILURE_MS) {
      const fetched = this.fetch();
      if (!this.keys) await fetched;
    }
    return this.keys;
  }

  /**
   * A token named a key we lack: fetch again unless that was tried less than 30 s ago.
   * `fetched` (look again), `cooling` (tried too recently), `failed` (the issuer did not answer).
   */
  async refreshForUnknownKey(): Promise<'fetched' | 'cooling' | 'failed'> {
    if (this.clock.now() - this.attemptedAt < UNKNOWN_KEY_COOLDOWN_MS) return this.failedAt >= this.attemptedAt ? 'failed' : 'cooling';
    return (await this.fetch()) ? 'fetched' : 'failed';
  }

  private fetch(): Promise<boolean> {
    this.inFlight ??= this.load().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async load(): Promise<boolean> {
    const url = this.override ?? this.server.metadata?.jwksUri;
    if (url === undefined) return false;
    this.attemptedAt = this.clock.now();
    try {
      const document = await requestJson(url);
      if (typeof document !== 'object' || document === null || !Array.isArray((document as { keys?: unknown }).keys)) {
        throw new AuthorizationServerError(`${url} is not a key set`);
      }
      this.keys = this.jose.createLocalJWKSet(document as Parameters<Jose['createLocalJWKSet']>[0]);
      this.fetchedAt = this.clock.now();
      this.server.answered(true);
      return true;
    } catch (error) {
      this.failedAt = this.clock.now();
      this.server.answered(false);
      this.log.warn('could not fetch the authorization server’s keys; the keys fetched before stay in use', {
        reason: error instanceof Error ? error.message : String(error),
      });
      return false;
    }
  }
}
