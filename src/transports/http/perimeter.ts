import type { IncomingMessage } from 'node:http';
import { header } from './request.ts';

export interface PerimeterOptions {
  /** The address the server is bound to. */
  bindHost: string;
  /** MCP_ALLOWED_HOSTS: `name` (any port) or `name:port`, lower case. */
  allowedHosts: readonly string[];
  /** MCP_ALLOWED_ORIGINS: exact origins, or `*`. */
  allowedOrigins: readonly string[];
}

const LOOPBACK_HOSTNAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * DNS-rebinding defences: the Host header must be allowed (MCP_ALLOWED_HOSTS when set; when
 * bound to loopback, only localhost, 127.0.0.1 and [::1], on any port), and a present Origin
 * must be allowed: listed in MCP_ALLOWED_ORIGINS, or the server's own origin. "Own origin" is
 * read from the Host header, so it counts only when that header has been checked: a rebound
 * page sends its own name as both Host and Origin.
 */
export class Perimeter {
  private readonly allowedHosts: readonly string[];
  private readonly loopbackOnly: boolean;
  /** Host is checked, so an Origin naming it is the server's own. */
  private readonly hostTrusted: boolean;
  private readonly origins: Set<string>;
  private readonly anyOrigin: boolean;

  constructor(options: PerimeterOptions) {
    this.allowedHosts = options.allowedHosts;
    this.loopbackOnly = options.allowedHosts.length === 0 && isLoopback(options.bindHost);
    this.hostTrusted = options.allowedHosts.length > 0 || this.loopbackOnly;
    this.origins = new Set(options.allowedOrigins.map((o) => o.replace(/\/+$/, '').toLowerCase()));
    this.anyOrigin = this.origins.has('*');
  }

  /** Returns a reason when the Host header is not allowed. */
  checkHost(req: IncomingMessage): string | undefined {
    if (this.allowedHosts.length === 0 && !this.loopbackOnly) return undefined;
    const host = header(req, 'host')?.trim().toLowerCase();
    if (!host) return 'Forbidden: missing Host header';
    const hostname = hostnameOf(host);
    if (this.allowedHosts.length > 0) {
      return this.allowedHosts.some((allowed) => allowed === host || allowed === hostname)
        ? undefined
        : `Forbidden: Host ${quote(host)} is not allowed`;
    }
    return LOOPBACK_HOSTNAMES.has(hostname) ? undefined : `Forbidden: Host ${quote(host)} is not allowed for a server bound to loopback`;
  }

  /** Returns a reason when a present Origin header is not allowed. */
  checkOrigin(req: IncomingMessage): string | undefined {
    const origin = header(req, 'origin');
    if (origin === undefined) return undefined;
    return this.isAllowedOrigin(origin, req) ? undefined : `Forbidden: Origin ${quote(origin)} is not allowed`;
  }

  /** CORS headers for an allowed browser origin (none for requests without Origin). */
  corsHeaders(req: IncomingMessage): Record<string, string> {
    const origin = header(req, 'origin');
    if (origin === undefined || !this.isAllowedOrigin(origin, req)) return {};
    return {
      'access-control-allow-origin': origin,
      'access-control-expose-headers': 'Mcp-Session-Id, MCP-Protocol-Version, WWW-Authenticate',
      vary: 'Origin',
    };
  }

  private isAllowedOrigin(origin: string, req: IncomingMessage): boolean {
    if (this.anyOrigin) return true;
    const normalized = origin.trim().replace(/\/+$/, '').toLowerCase();
    if (this.origins.has(normalized)) return true;
    if (!this.hostTrusted) return false;
    const host = header(req, 'host')?.trim().toLowerCase();
    return host !== undefined && (normalized === `http://${host}` || normalized === `https://${host}`);
  }
}

export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || /^::ffff:127\.\d+\.\d+\.\d+$/.test(h);
}

function hostnameOf(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.lastIndexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

function quote(value: string): string {
  return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
}

// RFC 3986 host (an IP literal in brackets, or a reg-name / IPv4 address), then an optional port.
const HOST_VALUE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::\d{1,5})?$/;

/**
 * Checks the Host header itself (before any route, /health included): RFC 9112 makes a request
 * with more than one Host (even two equal ones) or an invalid one a 400.
 */
export function hostHeaderProblem(req: IncomingMessage): string | undefined {
  const raw = req.rawHeaders;
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') count++;
  if (count > 1) return 'Bad Request: the request carries more than one Host header';
  const host = req.headers.host;
  if (host === undefined || host === lastValidHost) return undefined;
  const port = /:(\d+)$/.exec(host)?.[1];
  if (!HOST_VALUE.test(host) || (port !== undefined && Number(port) > 65535))
    return 'Bad Request: the Host header is not a valid host[:port]';
  lastValidHost = host; // clients send the same Host on every request
  return undefined;
}

let lastValidHost: string | undefined;
