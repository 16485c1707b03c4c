import { ErrorCode, WireError } from './errors.ts';
import { isLogLevel, type LogLevel } from './logging.ts';
import { isObject, type JsonObject, type JsonRpcRequest } from './messages.ts';
import { MODERN_VERSIONS, SUPPORTED_VERSIONS, type ModernVersion } from './versions.ts';

/** `_meta` keys of the 2026-07-28 request envelope. */
export const META = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  logLevel: 'io.modelcontextprotocol/logLevel',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
} as const;

/** Cache hints for results that only change when the server is redeployed. */
export const CACHE_HINTS = { ttlMs: 300_000, cacheScope: 'public' } as const;

/** Versions as `server/discover` and UnsupportedProtocolVersionError list them, newest first. */
export const ADVERTISED_VERSIONS: readonly string[] = [...SUPPORTED_VERSIONS].reverse();

export interface Envelope {
  version: string;
  logLevel: LogLevel | undefined;
  clientCapabilities: JsonObject;
}

/** Checks the `_meta` envelope every modern request carries (-32602 when it is incomplete). */
export function readEnvelope(request: JsonRpcRequest): Envelope {
  const meta = request.params?._meta;
  if (!isObject(meta))
    throw envelopeError('params._meta is required (2026-07-28 requests carry their protocol version and client capabilities there)');
  const version = meta[META.protocolVersion];
  if (typeof version !== 'string') throw envelopeError(`_meta["${META.protocolVersion}"] must be a string`);
  const clientCapabilities = meta[META.clientCapabilities];
  if (!isObject(clientCapabilities)) throw envelopeError(`_meta["${META.clientCapabilities}"] must be an object`);
  const info = meta[META.clientInfo];
  if (info !== undefined && !(isObject(info) && typeof info.name === 'string' && typeof info.version === 'string')) {
    throw envelopeError(`_meta["${META.clientInfo}"], when present, must be an object with string name and version`);
  }
  const level = meta[META.logLevel];
  if (level !== undefined && !isLogLevel(level)) {
    throw envelopeError(`_meta["${META.logLevel}"] must be one of debug, info, notice, warning, error, critical, alert, emergency`);
  }
  return { version, logLevel: level, clientCapabilities };
}

/** Initialize-era versions are reached only through initialize, so they are refused here too. */
export function checkModernVersion(version: string): ModernVersion {
  if ((MODERN_VERSIONS as readonly string[]).includes(version)) return version as ModernVersion;
  throw new WireError(ErrorCode.UnsupportedProtocolVersion, 'Unsupported protocol version', {
    supported: [...ADVERTISED_VERSIONS],
    requested: version,
  });
}

/** Every modern result says it is complete and who answered. */
export function decorateResult(result: JsonObject, serverInfo: JsonObject): JsonObject {
  const meta = isObject(result._meta) ? result._meta : {};
  return { resultType: 'complete', ...result, _meta: { ...meta, [META.serverInfo]: serverInfo } };
}

function envelopeError(message: string): WireError {
  return new WireError(ErrorCode.InvalidParams, `Invalid params: ${message}`);
}
