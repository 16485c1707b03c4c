import { canonicalResource } from '../../../oauth-settings.ts';

/** How a presented token fared: who it is for, or why it is refused (`unavailable`: we could not check it now). */
export type Verdict =
  | { ok: true; sub: string | undefined; clientId: string | undefined; scopes: Set<string>; expiresAt?: number }
  | { ok: false; unavailable: boolean; description: string };

/** Whether a token's `aud` (a string or a list) names this resource, compared in canonical form. */
export function audienceMatches(aud: unknown, resource: string): boolean {
  const values = Array.isArray(aud) ? aud : [aud];
  return values.some((value) => typeof value === 'string' && (value === resource || canonicalResource(value) === resource));
}

/** A refused token, and why (for the challenge's error_description). */
export function refused(description: string): Verdict {
  return { ok: false, unavailable: false, description };
}

/** A token that could not be checked now (the authorization server is out of reach). */
export function unavailable(description: string): Verdict {
  return { ok: false, unavailable: true, description };
}
