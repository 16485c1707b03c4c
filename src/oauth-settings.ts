import { LocalError } from './errors.ts';

/** MCP_AUTH=oauth: where tokens come from, what they must be for, and how to check them. */
export interface OAuthSettings {
  /** MCP_OAUTH_ISSUER, exactly as the authorization server names itself. */
  issuer: string;
  /** MCP_RESOURCE_URL in canonical form (lowercase scheme and host, no trailing slash): the audience tokens must carry. */
  resource: string;
  /** MCP_OAUTH_SCOPES: every MCP request needs each; a scope may list broader ones that also satisfy it (`mcp:tools|mcp`). */
  scopes: string[][];
  /** MCP_OAUTH_JWKS_URL: instead of the issuer's `jwks_uri`. */
  jwksUrl: string | undefined;
  /** RFC 7662 introspection, for opaque tokens: the URL (else the issuer's `introspection_endpoint`) and this server's credentials. */
  introspection: { url: string | undefined; clientId: string; clientSecret: string } | undefined;
}

/** An OAuth setting that cannot be used; its message names the variable, never a secret value. */
export class OAuthSettingError extends LocalError {
  constructor(message: string) {
    super('CONFIG_INVALID', message);
  }
}

/** Reads the MCP_OAUTH_* variables (and MCP_RESOURCE_URL); `raw` gives a variable's value, undefined when unset. */
export function readOAuthSettings(raw: (name: string) => string | undefined): OAuthSettings {
  const issuerText = raw('MCP_OAUTH_ISSUER');
  if (issuerText === undefined)
    throw new OAuthSettingError('MCP_AUTH=oauth needs MCP_OAUTH_ISSUER: the authorization server’s issuer URL.');
  const resourceText = raw('MCP_RESOURCE_URL');
  if (resourceText === undefined) {
    throw new OAuthSettingError(
      'MCP_AUTH=oauth needs MCP_RESOURCE_URL: this server’s public MCP URL, such as https://relay.example.com/mcp.',
    );
  }
  const issuer = secureUrl(issuerText, 'MCP_OAUTH_ISSUER');
  if (issuer.search || issuer.hash) throw new OAuthSettingError('MCP_OAUTH_ISSUER must have no query and no fragment.');
  const resource = canonicalResource(resourceText);
  if (resource === undefined) {
    throw new OAuthSettingError(
      'MCP_RESOURCE_URL must be an https URL (http only on a loopback address) with no query and no fragment, such as https://relay.example.com/mcp.',
    );
  }
  const jwksText = raw('MCP_OAUTH_JWKS_URL');
  const introspectionUrl = raw('MCP_OAUTH_INTROSPECTION_URL');
  const clientId = raw('MCP_OAUTH_CLIENT_ID');
  const clientSecret = raw('MCP_OAUTH_CLIENT_SECRET');
  if ((clientId === undefined) !== (clientSecret === undefined)) {
    throw new OAuthSettingError('MCP_OAUTH_CLIENT_ID and MCP_OAUTH_CLIENT_SECRET go together (token introspection needs both).');
  }
  if (introspectionUrl !== undefined && clientId === undefined) {
    throw new OAuthSettingError('MCP_OAUTH_INTROSPECTION_URL needs MCP_OAUTH_CLIENT_ID and MCP_OAUTH_CLIENT_SECRET.');
  }
  return {
    issuer: issuerText,
    resource,
    scopes: scopeList(raw('MCP_OAUTH_SCOPES')),
    jwksUrl: jwksText === undefined ? undefined : secureUrl(jwksText, 'MCP_OAUTH_JWKS_URL').href,
    introspection:
      clientId === undefined || clientSecret === undefined
        ? undefined
        : {
            url: introspectionUrl === undefined ? undefined : secureUrl(introspectionUrl, 'MCP_OAUTH_INTROSPECTION_URL').href,
            clientId,
            clientSecret,
          },
  };
}

/**
 * A resource URI in the canonical form RFC 8707 and MCP use: lowercase scheme and host (URL
 * parsing does that), no fragment, no query, no trailing slash; undefined when it is not one.
 */
export function canonicalResource(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (text.includes('#') || url.search || url.username || url.password || !isSecure(url)) return undefined;
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
  return `${url.origin}${path}`;
}

/** Space- or comma-separated scopes; `a|b` means a, or the broader b. */
function scopeList(text: string | undefined): string[][] {
  if (text === undefined) return [];
  return text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((item) => {
      const alternatives = item.split('|').filter(Boolean);
      if (alternatives.length === 0 || alternatives.some((scope) => !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope))) {
        throw new OAuthSettingError(
          'MCP_OAUTH_SCOPES must be scope names (printable, no quotes or backslashes), separated by spaces or commas.',
        );
      }
      return alternatives;
    });
}

function secureUrl(text: string, name: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new OAuthSettingError(`${name} must be a URL.`);
  }
  if (url.username || url.password) throw new OAuthSettingError(`${name} must not carry credentials.`);
  if (!isSecure(url)) throw new OAuthSettingError(`${name} must be an https URL (http only on a loopback address, for local use).`);
  return url;
}

/** https, or http on a loopback address (local use, tests). */
export function isSecure(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  if (url.protocol !== 'http:') return false;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
