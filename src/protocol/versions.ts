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
}

const FEATURES: Record<ProtocolVersion, VersionFeatures> = {
  '2024-11-05': row(false, false, false, false, false, false),
  '2025-03-26': row(true, true, false, true, false, false),
  '2025-06-18': row(false, true, true, true, false, false),
  '2025-11-25': row(false, true, true, true, true, false),
  '2026-07-28': row(false, true, true, true, true, true),
};

function row(
  batches: boolean,
  toolAnnotations: boolean,
  structuredContent: boolean,
  progressMessage: boolean,
  argumentErrorsAsResults: boolean,
  modern: boolean,
): VersionFeatures {
  return Object.freeze({
    batches,
    toolAnnotations,
    structuredContent,
    implementationTitle: structuredContent,
    progressMessage,
    argumentErrorsAsResults,
    modern,
  });
}

export function featuresOf(version: ProtocolVersion): VersionFeatures {
  return FEATURES[version];
}
