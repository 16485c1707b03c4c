/** Protocol revisions this server speaks, oldest first. */
export const INITIALIZE_ERA_VERSIONS = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'] as const;
/** Revisions without initialize: every request carries its version in `_meta`. */
export const MODERN_VERSIONS = ['2026-07-28'] as const;
export const SUPPORTED_VERSIONS = [...INITIALIZE_ERA_VERSIONS, ...MODERN_VERSIONS] as const;

export type InitializeEraVersion = (typeof INITIALIZE_ERA_VERSIONS)[number];
export type ModernVersion = (typeof MODERN_VERSIONS)[number];
export type ProtocolVersion = (typeof SUPPORTED_VERSIONS)[number];

/** What initialize answers when the client asks for a version we do not serve. */
export const LATEST_INITIALIZE_VERSION: InitializeEraVersion = '2025-11-25';
/** Streamable HTTP without a version header and no other way to tell (transport spec). */
export const DEFAULT_HTTP_VERSION: InitializeEraVersion = '2025-03-26';

export function isInitializeEraVersion(value: unknown): value is InitializeEraVersion {
  return (INITIALIZE_ERA_VERSIONS as readonly unknown[]).includes(value);
}

export function isSupportedVersion(value: unknown): value is ProtocolVersion {
  return (SUPPORTED_VERSIONS as readonly unknown[]).includes(value);
}

/** Revisions are ISO dates, so string order is release order. */
export function isModernVersionString(value: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(value) && value >= MODERN_VERSIONS[0];
}

/** Wire features that differ between revisions; one row per version, computed once. */
export interface VersionFeatures {
  /** JSON-RPC batches are accepted (2025-03-26 only). */
  readonly batches: boolean;
  /** Tools carry `annotations` (2025-03-26+). */
  readonly toolAnnotations: boolean;
  /** Tools carry `title` and `outputSchema`; results carry `structuredContent` (2025-06-18+). */
  readonly structuredContent: boolean;
  /** `Implementation.title` exists (2025-06-18+). */
  readonly implementationTitle: boolean;
  /** `notifications/progress` has a `message` field (2025-03-26+). */
  readonly progressMessage: boolean;
  /** Invalid tool arguments are a tool result with isError, not -32602 (2025-11-25+, SEP-1303). */
  readonly argumentErrorsAsResults: boolean;
  /** No initialize; results carry resultType and server identity (2026-07-28+). */
  readonly modern: boolean;
  /** Streamable HTTP streams start with a priming event (an id, empty data) so they can be resumed at once (2025-11-25). */
  readonly primingEvent: boolean;
  /** Experimental tasks in the core protocol: the `tasks` capability, `execution.taskSupport`, tasks/* (2025-11-25 only; 2026-07-28 moved them to an extension). */
  readonly tasks: boolean;
}

const INITIAL: VersionFeatures = {
  batches: false,
  toolAnnotations: false,
  structuredContent: false,
  implementationTitle: false,
  progressMessage: false,
  argumentErrorsAsResults: false,
  modern: false,
  primingEvent: false,
  tasks: false,
};

/** Each revision: what changed from the one before it. */
const R2025_03_26 = { ...INITIAL, batches: true, toolAnnotations: true, progressMessage: true };
const R2025_06_18 = { ...R2025_03_26, batches: false, structuredContent: true, implementationTitle: true };
// SEP-1303 (tool argument errors as results) and SEP-1699 (priming events).
const R2025_11_25 = { ...R2025_06_18, argumentErrorsAsResults: true, primingEvent: true, tasks: true };
// No initialize; 2026-07-28 response streams are not resumable, so they have no priming event;
// tasks are the io.modelcontextprotocol/tasks extension.
const R2026_07_28 = { ...R2025_11_25, modern: true, primingEvent: false, tasks: false };

const FEATURES: Record<ProtocolVersion, VersionFeatures> = {
  '2024-11-05': Object.freeze(INITIAL),
  '2025-03-26': Object.freeze(R2025_03_26),
  '2025-06-18': Object.freeze(R2025_06_18),
  '2025-11-25': Object.freeze(R2025_11_25),
  '2026-07-28': Object.freeze(R2026_07_28),
};

export function featuresOf(version: ProtocolVersion): VersionFeatures {
  return FEATURES[version];
}
