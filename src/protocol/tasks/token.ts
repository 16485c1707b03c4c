import { crypto } from '../../lazy.ts';

/** What a signed task id carries: the upstream reference, and when and for how long the task was made. */
export interface TaskClaims {
  ref: string;
  createdAt: number;
  ttlMs: number;
}

const PREFIX = 'rt1.';

/**
 * Task ids for work that lives upstream (a background response): `rt1.<claims>.<mac>`, the
 * claims (the response id, a digest of the owner, creation time, TTL) in base64url JSON and an
 * HMAC-SHA256 over them. Any process holding the same secret (MCP_TASK_SECRET) can check an id
 * and answer for the task by asking the upstream; nobody without it can forge or alter one,
 * and an id works only for the owner it was made for. The owner is never in it, only a MAC of
 * the owner's name under the secret.
 */
export class TaskTokens {
  private configured: string | Buffer | undefined;
  /** Whether the secret was configured (shared with other processes) rather than made by this one. */
  readonly shared: boolean;

  constructor(secret: string | undefined) {
    this.shared = secret !== undefined;
    this.configured = secret;
  }

  /** Made on first use: a server that never makes a background task never loads node:crypto for it. */
  private get secret(): string | Buffer {
    this.configured ??= crypto().randomBytes(32);
    return this.configured;
  }

  /** Whether an id has the signed form (it may still be forged or someone else's). */
  static isSigned(id: string): boolean {
    return id.startsWith(PREFIX);
  }

  mint(claims: TaskClaims, owner: string): string {
    const body = Buffer.from(JSON.stringify([claims.ref, this.ownerDigest(owner), claims.createdAt, claims.ttlMs])).toString('base64url');
    return `${PREFIX}${body}.${this.mac(body)}`;
  }

  /** The claims of an id minted for this owner with this secret; undefined for anything else. */
  open(id: string, owner: string): TaskClaims | undefined {
    if (!id.startsWith(PREFIX) || id.length > 2048) return undefined;
    const [body, mac, extra] = id.slice(PREFIX.length).split('.');
    if (body === undefined || mac === undefined || extra !== undefined) return undefined;
    const expected = Buffer.from(this.mac(body));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !crypto().timingSafeEqual(given, expected)) return undefined;
    let claims: unknown;
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    if (!Array.isArray(claims) || claims.length !== 4) return undefined;
    const [ref, digest, createdAt, ttlMs] = claims as unknown[];
    if (typeof ref !== 'string' || typeof createdAt !== 'number' || typeof ttlMs !== 'number') return undefined;
    if (digest !== this.ownerDigest(owner)) return undefined;
    return { ref, createdAt, ttlMs };
  }

  private ownerDigest(owner: string): string {
    return crypto().createHmac('sha256', this.secret).update(`owner\0${owner}`).digest('base64url').slice(0, 22);
  }

  private mac(body: string): string {
    return crypto().createHmac('sha256', this.secret).update(`task\0${body}`).digest('base64url');
  }
}
