/**
 * Strict mode (MCP_STRICT) over Streamable HTTP: the transport's own rules, which only the
 * transport can see (headers, sessions). Called only when strict mode is on.
 */
import type { IncomingMessage } from 'node:http';
import type { ServerApp } from '../../protocol/context.ts';
import { isObject } from '../../protocol/messages.ts';
import type { Session } from '../../protocol/session.ts';
import { fault, summarize } from '../../protocol/strict/faults.ts';
import type { RuleId } from '../../protocol/strict/rules.ts';
import type { Acceptance } from './request.ts';
import { header } from './request.ts';
import type { HttpSession } from './sessions.ts';

/** A refusal strict mode asks the transport to send (MCP_STRICT=reject). */
export interface StrictRefusal {
  status: 400 | 406;
  message: string;
}

interface HttpScene {
  app: ServerApp;
  key: string;
  /** The session the request names, if any. */
  session: HttpSession | undefined;
  /** The revision in use: the session's, 2026-07-28 for a modern request, or unknown. */
  revision: string | undefined;
}

function report(scene: HttpScene, rule: RuleId, offending: unknown): boolean {
  const protocol: Session | undefined = scene.session?.protocol;
  return fault(
    {
      app: scene.app,
      session: protocol,
      transport: 'streamable-http',
      key: scene.key || undefined,
      // A header fault is told on the session's GET stream (the POST's own answer is not open yet).
      deliver: scene.session?.stream ? (message) => scene.session?.stream?.send(JSON.stringify(message)) : undefined,
      logLevel: protocol?.askedLogLevel,
    },
    rule,
    scene.revision,
    offending,
  );
}

/** The headers a fault report shows: those it is about, never credentials. */
function shown(req: IncomingMessage, names: string[]): Record<string, string | null> {
  const out: Record<string, string | null> = { method: req.method ?? '' };
  for (const name of names) out[name] = header(req, name) ?? null;
  return out;
}

/**
 * A POST's or GET's headers against the revision in use: Accept (both types on a POST,
 * text/event-stream on a GET) and, once a session negotiated 2025-06-18 or later,
 * MCP-Protocol-Version. Returns the refusal to send under `reject`, if any.
 */
export function checkHeaders(
  req: IncomingMessage,
  accept: Acceptance,
  scene: HttpScene,
  method: 'POST' | 'GET' | 'DELETE',
): StrictRefusal | undefined {
  // No Accept header at all allows anything, but the rule asks for one that lists the types.
  const listed = (header(req, 'accept') ?? '').trim() !== '';
  const wanted = method === 'DELETE' || (listed && (method === 'POST' ? accept.json && accept.sse : accept.sse));
  if (!wanted && report(scene, 'http.accept-missing', shown(req, ['accept']))) {
    return {
      status: 406,
      message:
        method === 'POST'
          ? 'Not Acceptable: Accept must list both application/json and text/event-stream (MCP_STRICT=reject)'
          : 'Not Acceptable: Accept must list text/event-stream (MCP_STRICT=reject)',
    };
  }
  const negotiated = scene.session?.protocol.version;
  if (negotiated === undefined) return undefined;
  const sent = header(req, 'mcp-protocol-version');
  if (sent === undefined) {
    report(scene, 'http.protocol-version-missing', shown(req, ['mcp-protocol-version']));
    return undefined;
  }
  // A DELETE is only reported: refusing it would keep alive the session the client is ending.
  if (sent !== negotiated && report(scene, 'http.protocol-version-mismatch', shown(req, ['mcp-protocol-version'])) && method !== 'DELETE') {
    return {
      status: 400,
      message: `Bad Request: MCP-Protocol-Version ${JSON.stringify(sent.slice(0, 40))} is not the version this session negotiated, ${negotiated} (MCP_STRICT=reject)`,
    };
  }
  return undefined;
}

/**
 * A request without Mcp-Session-Id where the server requires one (refused with 400 in every
 * mode); a batch carrying initialize is that fault instead (2025-03-26 lets batches be, not initialize in one).
 */
export function reportSessionIdMissing(req: IncomingMessage, app: ServerApp, key: string, offending: unknown): void {
  const init = Array.isArray(offending) ? offending.find((item) => isObject(item) && item.method === 'initialize') : undefined;
  if (isObject(init)) {
    const requested = isObject(init.params) ? init.params.protocolVersion : undefined;
    report(
      { app, key, session: undefined, revision: typeof requested === 'string' ? requested : undefined },
      'client.initialize-in-batch',
      init,
    );
    return;
  }
  report({ app, key, session: undefined, revision: undefined }, 'http.session-id-missing', {
    ...shown(req, ['mcp-session-id']),
    body: offending,
  });
}

/** A session ended: one summary line; a session the client never deleted is a fault of its own. */
export function sessionEnded(app: ServerApp, session: HttpSession, reason: string): void {
  // Only a session that went quiet with no stream open was left behind: eviction is the server's
  // choice, and a client holding a GET stream still needs its session.
  const abandoned = session.kind === 'streamable' && reason.startsWith('expired') && session.stream === undefined;
  if (abandoned) {
    report({ app, key: session.owner, session, revision: session.protocol.version }, 'client.session-not-deleted', {
      session: session.id.slice(0, 8),
      reason,
    });
  }
  summarize(app, session.protocol, {
    transport: session.kind === 'streamable' ? 'streamable-http' : 'sse',
    session: session.id.slice(0, 8),
    key: session.owner || undefined,
    reason,
  });
}
