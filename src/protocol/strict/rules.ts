/**
 * What MCP puts on a client that a server can see, one entry per rule: the strict mode's
 * catalogue (MCP_STRICT). Ids are stable: logs, metrics and client authors' tooling key on them.
 * `refuses` says what MCP_STRICT=reject adds: `already` (the relay refuses it in every mode, as
 * the spec lets it), `http` (refused over Streamable HTTP only), `yes`, or `no` (the spec
 * defines no refusal, so the fault is only reported).
 */
import type { ProtocolVersion } from '../versions.ts';

/** The spec's RFC 2119 keyword; `schema` where the rule is the contract a schema states, with no keyword. */
export type Keyword = 'MUST' | 'MUST NOT' | 'SHOULD' | 'SHOULD NOT' | 'schema';
export type Refuses = 'already' | 'yes' | 'http' | 'no';

export interface Rule {
  readonly keyword: Keyword;
  /** Where a revision's text uses another keyword. */
  readonly keywords?: Partial<Record<ProtocolVersion, Keyword>>;
  /** The revisions whose text states the rule. */
  readonly revisions: readonly ProtocolVersion[];
  /** Where in the spec (the revision's docs/specification/<rev>/ path, and the section). */
  readonly section: string;
  /** The spec's own words (the newest revision's, where they differ only in wording). */
  readonly sentence: string;
  readonly refuses: Refuses;
  /** What the refusal is, for the README. */
  readonly refusal: string;
}

const INIT_ERA: readonly ProtocolVersion[] = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'];
const ALL: readonly ProtocolVersion[] = [...INIT_ERA, '2026-07-28'];
const STREAMABLE: readonly ProtocolVersion[] = ['2025-03-26', '2025-06-18', '2025-11-25', '2026-07-28'];
const VERSION_HEADER: readonly ProtocolVersion[] = ['2025-06-18', '2025-11-25'];
const MODERN: readonly ProtocolVersion[] = ['2026-07-28'];

export const RULES = {
  'client.message-invalid': {
    keyword: 'MUST',
    revisions: ALL,
    section: 'basic/index § Messages (2024-11-05: basic/messages)',
    sentence: 'All messages between MCP clients and servers MUST follow the JSON-RPC 2.0 specification.',
    refuses: 'already',
    refusal: '-32600 Invalid Request (-32700 for text that is not JSON)',
  },
  'client.request-id-invalid': {
    keyword: 'MUST',
    revisions: ALL,
    section: 'basic/index § Requests',
    sentence: 'Requests MUST include a string or integer ID. Unlike base JSON-RPC, the ID MUST NOT be null.',
    refuses: 'already',
    refusal: '-32600 Invalid Request',
  },
  'client.request-id-reused': {
    keyword: 'MUST NOT',
    revisions: ALL,
    section: 'basic/index § Requests',
    sentence:
      'The request ID MUST NOT have been previously used by the requestor within the same session. (2026-07-28: MUST NOT match the ID of any other request the sender has issued and not yet received a response for.)',
    refuses: 'already',
    refusal: 'an id in flight: -32600; an id answered before: reported only (the spec names no error)',
  },
  'client.request-before-initialize': {
    keyword: 'MUST',
    revisions: INIT_ERA,
    section: 'basic/lifecycle § Initialization',
    sentence: 'The initialization phase MUST be the first interaction between client and server.',
    refuses: 'already',
    refusal: '-32600 (HTTP: 400 without a session)',
  },
  'client.initialized-missing': {
    keyword: 'MUST',
    revisions: INIT_ERA,
    section: 'basic/lifecycle § Initialization',
    sentence:
      'After successful initialization, the client MUST send an initialized notification to indicate it is ready to begin normal operations.',
    refuses: 'no',
    refusal: 'reported only, once per session (a request other than ping before notifications/initialized)',
  },
  'client.initialize-in-batch': {
    keyword: 'MUST NOT',
    revisions: ['2025-03-26'],
    section: 'basic/lifecycle § Initialization',
    sentence: 'The initialize request MUST NOT be part of a JSON-RPC batch.',
    refuses: 'already',
    refusal: '-32600 for that item',
  },
  'client.batch-unsupported': {
    keyword: 'MUST',
    revisions: ['2025-06-18', '2025-11-25', '2026-07-28'],
    section: 'basic/transports § Sending Messages to the Server (stdio: § stdio)',
    sentence:
      'The body of the POST request MUST be a single JSON-RPC request, notification, or response. (2026-07-28: The body of the HTTP POST MUST be a single JSON-RPC request or notification.)',
    refuses: 'already',
    refusal: '-32600 Invalid Request (HTTP 400)',
  },
  'client.cancel-initialize': {
    keyword: 'MUST NOT',
    revisions: INIT_ERA,
    section: 'basic/utilities/cancellation § Behavior Requirements',
    sentence: 'The initialize request MUST NOT be cancelled by clients.',
    refuses: 'no',
    refusal: 'reported only (a notification gets no answer)',
  },
  'client.cancel-unknown-request': {
    keyword: 'MUST',
    revisions: ALL,
    section: 'basic/utilities/cancellation § Behavior Requirements',
    sentence:
      'Cancellation notifications MUST only reference requests that: were previously issued in the same direction, are believed to still be in-progress.',
    refuses: 'no',
    refusal: 'reported only, for an id the client never sent (a request that just finished is a race the spec allows)',
  },
  'client.progress-token-invalid': {
    keyword: 'MUST',
    revisions: ALL,
    section: 'basic/utilities/progress § Progress Flow',
    sentence: 'Progress tokens MUST be a string or integer value.',
    refuses: 'no',
    refusal: 'reported only',
  },
  'client.progress-token-reused': {
    keyword: 'MUST',
    revisions: ALL,
    section: 'basic/utilities/progress § Progress Flow',
    sentence: 'Progress tokens can be chosen by the sender using any means, but MUST be unique across all active requests.',
    refuses: 'no',
    refusal: 'reported only',
  },
  'client.response-unknown-id': {
    keyword: 'MUST',
    keywords: { '2026-07-28': 'MUST NOT' },
    revisions: ALL,
    section: 'basic/index § Responses (2026-07-28: basic/transports § Sending Messages)',
    sentence:
      'Responses MUST include the same ID as the request they correspond to. (This server sends no requests; 2026-07-28: the client MUST NOT send JSON-RPC responses.)',
    refuses: 'http',
    refusal: 'Streamable HTTP: 400 with a JSON-RPC error; stdio: reported only (a response gets no answer)',
  },
  'client.capability-not-negotiated': {
    keyword: 'MUST',
    keywords: { '2024-11-05': 'SHOULD', '2025-03-26': 'SHOULD' },
    revisions: INIT_ERA,
    section: 'basic/lifecycle § Operation',
    sentence:
      'Both parties MUST: respect the negotiated protocol version; only use capabilities that were successfully negotiated. (SHOULD before 2025-06-18.)',
    refuses: 'already',
    refusal: '-32601 Method not found',
  },
  'client.log-level-invalid': {
    keyword: 'schema',
    revisions: ALL,
    section: 'server/utilities/logging § Error Handling',
    sentence: 'Servers SHOULD return standard JSON-RPC errors for common failure cases: Invalid log level: -32602 (Invalid params).',
    refuses: 'already',
    refusal: '-32602 Invalid params',
  },
  'client.arguments-invalid': {
    keyword: 'schema',
    revisions: ALL,
    section: 'server/tools § Tool (inputSchema), § Error Handling',
    sentence:
      '`inputSchema`: JSON Schema defining expected parameters. Error Handling: Protocol Errors … Invalid arguments (until 2025-06-18); Tool Execution Errors … Input validation errors (2025-11-25 and later).',
    refuses: 'already',
    refusal: '-32602 (2025-06-18 and before) or a result with isError (2025-11-25 and later)',
  },
  'client.session-not-deleted': {
    keyword: 'SHOULD',
    revisions: ['2025-03-26', '2025-06-18', '2025-11-25'],
    section: 'basic/transports § Session Management',
    sentence:
      'Clients that no longer need a particular session (e.g., because the user is leaving the client application) SHOULD send an HTTP DELETE to the MCP endpoint with the Mcp-Session-Id header, to explicitly terminate the session.',
    refuses: 'no',
    refusal: 'reported when the session expires, with no stream open, without a DELETE',
  },
  'http.accept-missing': {
    keyword: 'MUST',
    revisions: STREAMABLE,
    section: 'basic/transports § Sending Messages to the Server',
    sentence: 'The client MUST include an Accept header, listing both application/json and text/event-stream as supported content types.',
    refuses: 'yes',
    refusal: '406 Not Acceptable (in every mode when neither type is accepted; no Accept header at all is served in report)',
  },
  'http.protocol-version-missing': {
    keyword: 'MUST',
    revisions: VERSION_HEADER,
    section: 'basic/transports § Protocol Version Header',
    sentence:
      'If using HTTP, the client MUST include the MCP-Protocol-Version: <protocol-version> HTTP header on all subsequent requests to the MCP server.',
    refuses: 'no',
    refusal: 'reported only (the spec tells the server to assume 2025-03-26)',
  },
  'http.protocol-version-mismatch': {
    keyword: 'SHOULD',
    revisions: VERSION_HEADER,
    section: 'basic/transports § Protocol Version Header',
    sentence: 'The protocol version sent by the client SHOULD be the one negotiated during initialization.',
    refuses: 'yes',
    refusal: '400 Bad Request (an invalid MCP-Protocol-Version for the session)',
  },
  'http.session-id-missing': {
    keyword: 'MUST',
    revisions: ['2025-03-26', '2025-06-18', '2025-11-25'],
    section: 'basic/transports § Session Management',
    sentence:
      'If an Mcp-Session-Id is returned by the server during initialization, clients using the Streamable HTTP transport MUST include it in the Mcp-Session-Id header on all of their subsequent HTTP requests.',
    refuses: 'already',
    refusal: '400 Bad Request',
  },
  'stdio.not-json-line': {
    keyword: 'MUST NOT',
    revisions: ALL,
    section: 'basic/transports § stdio',
    sentence: "The client MUST NOT write anything to the server's stdin that is not a valid MCP message.",
    refuses: 'already',
    refusal: '-32700 Parse error',
  },
  'modern.envelope-missing': {
    keyword: 'MUST',
    revisions: MODERN,
    section: 'basic/index § _meta (per-request protocol fields)',
    sentence:
      'Client requests carry the following io.modelcontextprotocol/* fields in _meta; fields marked as required MUST be included on every request.',
    refuses: 'already',
    refusal: '-32602 Invalid params (HTTP 400)',
  },
  'modern.header-mismatch': {
    keyword: 'MUST',
    revisions: MODERN,
    section: 'basic/transports/streamable-http § Sending Messages, § Server Validation',
    sentence:
      'The client MUST include the request metadata headers on each POST request. Servers that process the request body MUST reject requests where the values specified in the headers do not match the corresponding values in the request body.',
    refuses: 'already',
    refusal: '400 Bad Request with -32020 HeaderMismatch',
  },
} as const satisfies Record<string, Rule>;

export type RuleId = keyof typeof RULES;
export const RULE_IDS = Object.keys(RULES) as RuleId[];
