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

  constructor(entries: readonly KeyEntry[] = []) {
    this.replace(entries);
  }

  /** How many keys there are: per-key caps default to a share of the global ones when more than one. */
  get count(): number {
    return this.known.length;
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
  }

  /** The name of the key `presented` is, if any. */
  identify(presented: string): string | undefined {
    const { createHash, timingSafeEqual } = crypto();
    const candidate = createHash('sha256').update(presented, 'utf8').digest();
    let match: string | undefined;
    for (const known of this.known) {
      known.digest ??= createHash('sha256')
        .update(known.entry.key ?? '', 'utf8')
        .digest();
      // Every digest is compared, so timing says nothing about which one matched.
      if (timingSafeEqual(candidate, known.digest) && match === undefined) match = known.entry.name;
    }
    return match;
  }

  policy(name: string | undefined): KeyPolicy | undefined {
    return name === undefined ? undefined : this.byName.get(name)?.entry.policy;
  }

  /** False when the key's own model list does not allow `model`. */
  allowsModel(name: string | undefined, model: string): boolean {
    const allows = name === undefined ? undefined : this.byName.get(name)?.allows;
    return allows === undefined || allows(model);
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
