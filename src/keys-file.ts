import { readFileSync } from 'node:fs';
import { ConfigError } from './config.ts';
import type { KeyEntry, KeyPolicy } from './keys.ts';
import { crypto } from './lazy.ts';

/** Larger than any honest keys file; read whole at start and on SIGHUP. */
const MAX_FILE_BYTES = 4 * 1024 * 1024;
const NAME = /^[\w.@-]{1,64}$/;
const FIELDS = new Set([
  'name',
  'key',
  'sha256',
  'subject',
  'models',
  'max_tokens',
  'requests_per_minute',
  'tokens_per_day',
  'max_concurrency',
  'weight',
]);

/**
 * Reads MCP_KEYS_FILE: `{"keys": [{"name": ..., "key" | "sha256" | "subject": ..., limits...}]}`
 * (`subject`: an OAuth token's `sub`, or client id, under MCP_AUTH=oauth). Every problem is a
 * ConfigError naming the entry and the field; no value of `key` is ever echoed.
 */
export function readKeysFile(path: string): KeyEntry[] {
  let text: string;
  try {
    const bytes = readFileSync(path);
    if (bytes.length > MAX_FILE_BYTES) throw new ConfigError(`MCP_KEYS_FILE (${path}) is larger than ${MAX_FILE_BYTES} bytes.`);
    text = bytes.toString('utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`MCP_KEYS_FILE (${path}) cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`);
  }
  return parseKeysFile(text, path);
}

export function parseKeysFile(text: string, path: string): KeyEntry[] {
  const where = `MCP_KEYS_FILE (${path})`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // V8's message can quote the file's text, which may hold a key: only the position is kept.
    const position = /position (\d+)/.exec(String((error as Error).message))?.[1];
    throw new ConfigError(`${where} is not valid JSON${position === undefined ? '' : ` (at character ${position})`}.`);
  }
  if (!isRecord(parsed) || !Array.isArray(parsed.keys)) throw new ConfigError(`${where} must be a JSON object with a "keys" array.`);
  for (const field of Object.keys(parsed)) {
    if (field !== 'keys') throw new ConfigError(`${where}: unknown top-level field ${JSON.stringify(field.slice(0, 40))} (only "keys").`);
  }
  if (parsed.keys.length === 0) throw new ConfigError(`${where}: "keys" holds no entry.`);
  const entries = parsed.keys.map((raw, index) => parseEntry(raw, `${where}: keys[${index}]`));
  const names = new Set<string>();
  const secrets = new Set<string>();
  entries.forEach((entry, index) => {
    if (names.has(entry.name))
      throw new ConfigError(`${where}: keys[${index}]: the name ${JSON.stringify(entry.name)} repeats an earlier entry.`);
    names.add(entry.name);
    const secret = entry.subject !== undefined ? `subject:${entry.subject}` : (entry.sha256 ?? `key:${entry.key}`);
    if (secrets.has(secret)) {
      const what = entry.subject !== undefined ? 'subject' : 'key';
      throw new ConfigError(`${where}: keys[${index}] (${JSON.stringify(entry.name)}): the same ${what} as an earlier entry.`);
    }
    secrets.add(secret);
  });
  return entries;
}

function parseEntry(raw: unknown, at: string): KeyEntry {
  if (!isRecord(raw)) throw new ConfigError(`${at} must be an object.`);
  const name = raw.name;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new ConfigError(`${at}: "name" must be a string of letters, digits, _ . @ - (1 to 64 characters).`);
  }
  const here = `${at} (${JSON.stringify(name)})`;
  for (const field of Object.keys(raw)) {
    if (!FIELDS.has(field))
      throw new ConfigError(`${here}: unknown field ${JSON.stringify(field.slice(0, 40))} (known: ${[...FIELDS].join(', ')}).`);
  }
  const hasKey = raw.key !== undefined;
  const hasDigest = raw.sha256 !== undefined;
  const hasSubject = raw.subject !== undefined;
  if (Number(hasKey) + Number(hasDigest) + Number(hasSubject) !== 1) {
    throw new ConfigError(`${here}: give exactly one of "key", "sha256" (API keys) and "subject" (MCP_AUTH=oauth).`);
  }
  if (hasSubject && (typeof raw.subject !== 'string' || raw.subject.length === 0 || raw.subject.length > 256)) {
    throw new ConfigError(`${here}: "subject" must be a string of 1 to 256 characters (a token's sub, or its client id).`);
  }
  if (hasKey && (typeof raw.key !== 'string' || raw.key.length === 0 || /\s/.test(raw.key))) {
    throw new ConfigError(`${here}: "key" must be a non-empty string without spaces.`);
  }
  if (hasDigest && (typeof raw.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(raw.sha256))) {
    throw new ConfigError(`${here}: "sha256" must be 64 lowercase hex digits (the SHA-256 of the key's UTF-8 bytes).`);
  }
  const policy: { -readonly [K in keyof KeyPolicy]: KeyPolicy[K] } = {};
  if (raw.models !== undefined) {
    if (!Array.isArray(raw.models) || raw.models.length === 0 || !raw.models.every((m) => typeof m === 'string' && m.trim() !== '')) {
      throw new ConfigError(`${here}: "models" must be a non-empty array of model names or globs.`);
    }
    policy.models = raw.models.map((m: string) => m.trim());
  }
  policy.maxTokens = positiveInteger(raw.max_tokens, here, 'max_tokens', 10_000_000);
  policy.requestsPerMinute = positiveInteger(raw.requests_per_minute, here, 'requests_per_minute', 1_000_000);
  policy.tokensPerDay = positiveInteger(raw.tokens_per_day, here, 'tokens_per_day', Number.MAX_SAFE_INTEGER);
  policy.maxConcurrency = positiveInteger(raw.max_concurrency, here, 'max_concurrency', 1_000_000);
  policy.weight = positiveInteger(raw.weight, here, 'weight', 100);
  for (const field of Object.keys(policy) as (keyof KeyPolicy)[]) if (policy[field] === undefined) delete policy[field];
  if (hasSubject) return { name, subject: raw.subject as string, policy };
  return hasKey ? { name, key: raw.key as string, policy } : { name, sha256: raw.sha256 as string, policy };
}

function positiveInteger(value: unknown, here: string, field: string, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 && value <= max) return value;
  throw new ConfigError(`${here}: "${field}" must be an integer from 1 to ${max}.`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * MCP_API_KEY / MCP_API_KEYS keys (no limits of their own) beside the keys file's entries:
 * names and keys must not repeat across the two.
 */
export function mergeKeys(fromEnv: readonly KeyEntry[], fromFile: readonly KeyEntry[]): KeyEntry[] {
  const names = new Set(fromEnv.map((e) => e.name));
  for (const entry of fromFile) {
    if (names.has(entry.name))
      throw new ConfigError(`MCP_KEYS_FILE: the name ${JSON.stringify(entry.name)} is also given by MCP_API_KEY or MCP_API_KEYS.`);
  }
  const envKeys = new Set(fromEnv.map((e) => e.key));
  const envDigests = fromFile.some((e) => e.sha256 !== undefined) ? new Set(fromEnv.map((e) => sha256Hex(e.key ?? ''))) : new Set<string>();
  for (const entry of fromFile) {
    if ((entry.key !== undefined && envKeys.has(entry.key)) || (entry.sha256 !== undefined && envDigests.has(entry.sha256))) {
      throw new ConfigError(
        `MCP_KEYS_FILE: the entry ${JSON.stringify(entry.name)} holds a key also given by MCP_API_KEY or MCP_API_KEYS.`,
      );
    }
  }
  return [...fromEnv, ...fromFile];
}

function sha256Hex(text: string): string {
  return crypto().createHash('sha256').update(text, 'utf8').digest('hex');
}
