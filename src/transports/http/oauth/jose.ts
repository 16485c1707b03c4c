/**
 * The part of jose this server uses, loaded only in OAuth mode (the build embeds it compressed
 * and compiles it on first use, as it does undici): JWT verification against a key set the
 * server fetches itself, and reading a token's protected header.
 */
export { createLocalJWKSet, decodeProtectedHeader, errors, jwtVerify } from 'jose';
export type { JSONWebKeySet, JWTPayload } from 'jose';
