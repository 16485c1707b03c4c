import { crypto } from './lazy.ts';
import { modelMatcher } from './tool/models.ts';

/** What a key may do beyond the global limits (MCP_KEYS_FILE); every field is optional. */
export interface KeyPolicy {
  /** Model globs the key may use (`!` excludes); undefined allows every model. */
  readonly models?: readonly string[];
  readonly maxTokens?: number;
  readonly requestsPerMinute?: number;
  /** Total tokens a day (UTC), as the upstream reports them. */
  readonly tokensPerDay?: number;
  /** Calls in flight at most, running or queued. */
  readonly maxConcurrency?: number;
  /** Share in the fair queue. */
  readonly weight?: number;
}

/** One client key: its name (shown in logs and metrics), the secret or its digest, its policy. */
export interface KeyEntry {
  readonly name: string;
  /** The key itself (MCP_API_KEY, MCP_API_KEYS, or `key` in the keys file). */
  readonly key?: string;
  /** Lowercase hex SHA-256 of the key's UTF-8 bytes (`sha256` in the keys file). */
  readonly sha256?: string;
  /** MCP_AUTH=oauth: the token subject (or client id) this entry names and sets the policy of. */
  readonly subject?: string;
  readonly policy: KeyPolicy;
}

interface Known {
  readonly entry: KeyEntry;
  readonly allows: ((model: string) => boolean) | undefined;
  digest: Buffer | undefined;
}

/**
 * The client keys the server knows, replaceable as a whole (SIGHUP re-reads the keys file).
 * Keys are kept as SHA-256 digests, made on first use so an idle server has not loaded
 * node:crypto; a presented key is compared with every digest in constant time.
 */
export class KeyRing {
  private known: Known[] = [];
  private byName = new Map<string, Known>();
  private bySubject = new Map<string, string>();
  /** OAuth: the callers are whoever the authorization server lets in, however few entries name them. */
  private readonly openEnded: boolean;

  constructor(entries: readonly KeyEntry[] = [], options: { openEnded?: boolean } = {}) {
    this.openEnded = options.openEnded ?? false;
    this.replace(entries);
  }

  /**
   * How many callers to share among: per-key caps default to a share of the global ones when
   * more than one. Under OAuth always "several": any number of subjects may come.
   */
  get count(): number {
    return this.openEnded ? Math.max(2, this.known.length) : this.known.length;
  }

  get names(): string[] {
    return this.known.map((k) => k.entry.name);
  }

  replace(entries: readonly KeyEntry[]): void {
    this.known = entries.map((entry) => ({
      entry,
      allows: entry.policy.models ? modelMatcher(entry.policy.models) : undefined,
      digest: entry.sha256 === undefined ? undefined : Buffer.from(entry.sha256, 'hex'),
    }));
    this.byName = new Map(this.known.map((k) => [k.entry.name, k]));
    this.bySubject = new Map(entries.flatMap((entry) => (entry.subject === undefined ? [] : [[entry.subject, entry.name]])));
  }

  /**
   * The caller name for an OAuth token: the entry naming its subject (`sub`); for a token
   * without `sub`, the entry naming its client id. A user signed in through a client is never
   * that client. Else `sub:<sub>`, or `client:<client id>` for a token without `sub`. Entry names cannot hold a colon, so no
   * token can pass for a named entry by what it claims.
   */
  nameForToken(sub: string | undefined, clientId: string | undefined): string {
    if (sub !== undefined) return this.bySubject.get(sub) ?? `sub:${sub}`;
    return (clientId === undefined ? undefined : this.bySubject.get(clientId)) ?? `client:${clientId}`;
  }

  /** The name of the key `presented` is, if any. */
  identify(presented: string): string | undefined {
    const { hash, timingSafeEqual } = crypto();
    // The one-shot hash: no Hash object per request.
    const candidate = hash('sha256', presented, 'buffer');
    let match: string | undefined;
    for (const known of this.known) {
      if (known.entry.key === undefined && known.entry.sha256 === undefined) continue;
      known.digest ??= hash('sha256', known.entry.key ?? '', 'buffer');
      // Every digest is compared, so timing says nothing about which one matched.
      if (timingSafeEqual(candidate, known.digest) && match === undefined) match = known.entry.name;
    }
    return match;
  }

  policy(name: string | undefined): KeyPolicy | undefined {
    return this.entryOf(name)?.entry.policy;
  }

  /** False when the key's own model list does not allow `model`. */
  allowsModel(name: string | undefined, model: string): boolean {
    const allows = this.entryOf(name)?.allows;
    return allows === undefined || allows(model);
  }

  /** A caller's entry: its own, or for an OAuth caller no entry names, the `"subject": "*"` entry's (each still counted apart). */
  private entryOf(name: string | undefined): Known | undefined {
    if (name === undefined) return undefined;
    const own = this.byName.get(name);
    if (own || !name.includes(':')) return own;
    const wildcard = this.bySubject.get('*');
    return wildcard === undefined ? undefined : this.byName.get(wildcard);
  }
}

/**
 * A per-key cap: the configured value, else the global cap when at most one key is known
 * (a lone key is the whole service), else a quarter of it, so no single key can take the
 * service from the others.
 */
export function perKeyCap(configured: number | undefined, global: number, keyCount: number): number {
  if (configured !== undefined) return configured;
  return keyCount > 1 ? Math.max(1, Math.floor(global / 4)) : global;
}
