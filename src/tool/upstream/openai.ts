import { Writable, type Readable } from 'node:stream';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { Logger } from '../../log.ts';
import { ChunkAccumulator, completionFromBody } from './completion.ts';
import { DeadlineExceeded, retryAfterMs, UpstreamError, upstreamMessageOf } from './errors.ts';
import { SseParser } from './sse.ts';
import type { ChatRequest, CompleteOptions, Completion, Upstream } from './types.ts';

export interface OpenAIUpstreamOptions {
  baseUrl: string;
  apiKey: string;
  userAgent: string;
  log: Logger;
  /** Largest accepted response body (non-streamed) or streamed text, in bytes. */
  maxResponseBytes?: number;
}

type Undici = typeof import('./undici.ts');
type Dispatcher = import('./undici.ts').Dispatcher;

const ERROR_BODY_CAP = 64 * 1024;

/**
 * A thin Chat Completions client on undici's dispatcher API: `request` for JSON replies,
 * `stream` for event-stream replies, one keep-alive pool that honours HTTPS_PROXY/NO_PROXY.
 * undici is imported on the first call, so start-up pays nothing for it.
 */
export function createOpenAIUpstream(options: OpenAIUpstreamOptions): Upstream {
  const url = new URL(`${options.baseUrl}/chat/completions`);
  const origin = url.origin;
  const path = `${url.pathname}${url.search}`;
  const maxResponseBytes = options.maxResponseBytes ?? 16 * 1024 * 1024;
  let loaded: Promise<{ undici: Undici; dispatcher: Dispatcher }> | undefined;

  const load = (): Promise<{ undici: Undici; dispatcher: Dispatcher }> =>
    (loaded ??= import('./undici.ts').then((undici) => ({
      undici,
      dispatcher: undici.createDispatcher({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 }),
    })));

  // Built once: every call sends the same headers.
  const headersFor = (streaming: boolean): Record<string, string> => ({
    'content-type': 'application/json',
    accept: streaming ? 'text/event-stream' : 'application/json',
    authorization: `Bearer ${options.apiKey}`,
    'user-agent': options.userAgent,
  });
  const unaryHeaders = headersFor(false);
  const streamHeaders = headersFor(true);

  const secrets = [options.apiKey];

  async function complete(request: ChatRequest, call: CompleteOptions): Promise<Completion> {
    const { undici, dispatcher } = await load();
    const streaming = call.onText !== undefined;
    const body = JSON.stringify(streaming ? { ...request, stream: true, stream_options: { include_usage: true } } : request);
    // undici's own timers (300 s by default) must not cut a call the deadline still allows.
    const remaining = Math.max(1, call.deadline - Date.now());
    const requestOptions: RequestOptions = {
      origin,
      path,
      method: 'POST',
      headers: streaming ? streamHeaders : unaryHeaders,
      body,
      signal: call.signal,
      headersTimeout: remaining,
      bodyTimeout: remaining,
    };
    try {
      return streaming
        ? await streamed(undici, dispatcher, requestOptions, request.model, call.onText!)
        : await unary(undici, dispatcher, requestOptions, request.model);
    } catch (error) {
      if (call.signal.aborted) {
        const reason: unknown = call.signal.reason;
        if (reason instanceof DeadlineExceeded) throw new UpstreamError('timeout', reason.message);
        throw reason ?? error;
      }
      throw error instanceof UpstreamError ? error : networkError(error);
    }
  }

  interface RequestOptions {
    origin: string;
    path: string;
    method: 'POST';
    headers: Record<string, string>;
    body: string;
    signal: AbortSignal;
    headersTimeout: number;
    bodyTimeout: number;
  }

  async function unary(undici: Undici, dispatcher: Dispatcher, requestOptions: RequestOptions, model: string): Promise<Completion> {
    const response = await undici.request(dispatcher, requestOptions);
    const requestId = headerOf(response.headers, 'x-request-id');
    const cap = response.statusCode >= 400 ? ERROR_BODY_CAP : maxResponseBytes;
    let text: string;
    try {
      // A declared length within the cap can be read by undici's own (faster) consumer.
      const declared = Number(headerOf(response.headers, 'content-length'));
      text =
        declared >= 0 && declared <= cap ? await response.body.text() : await readCapped(response.body, cap, response.statusCode < 400);
    } catch (error) {
      throw error instanceof UpstreamError || requestOptions.signal.aborted ? error : brokenAnswer(error, response.statusCode, requestId);
    }
    if (response.statusCode >= 400) throw httpError(response.statusCode, text, requestId, response.headers);
    return completionFromBody(parseJson(text, requestId), model, requestId);
  }

  async function streamed(
    undici: Undici,
    dispatcher: Dispatcher,
    requestOptions: RequestOptions,
    model: string,
    onText: (text: string) => void,
  ): Promise<Completion> {
    const accumulator = new ChunkAccumulator(model);
    let status = 0;
    let requestId: string | undefined;
    let responseHeaders: Record<string, string | string[] | undefined> = {};
    let plainBody: Buffer[] | undefined;
    let plainBytes = 0;
    let done = false;
    let received = 0;
    const parser = new SseParser((data) => {
      if (data === '[DONE]') {
        done = true;
        return;
      }
      const chunk = parseJson(data, requestId) as ChatCompletionChunk & { error?: unknown };
      if (chunk && typeof chunk === 'object' && chunk.error) {
        const message = upstreamMessageOf(JSON.stringify(chunk), secrets);
        // An error event in a 200 stream is the server failing mid-answer: worth a retry
        // (the retry layer still will not retry once text has reached the client).
        throw new UpstreamError('http', `The upstream failed mid-stream: ${message ?? 'unknown error'}.`, {
          status,
          requestId,
          retryable: true,
          ...(message ? { upstreamMessage: message } : {}),
        });
      }
      const text = accumulator.add(chunk);
      received += text.length;
      if (received > maxResponseBytes) throw new UpstreamError('protocol', "The upstream's answer exceeds the size limit.");
      if (text) onText(text);
    });

    const receive = undici.stream(dispatcher, requestOptions, ({ statusCode, headers }) => {
      status = statusCode;
      responseHeaders = headers;
      requestId = headerOf(headers, 'x-request-id');
      const contentType = headerOf(headers, 'content-type') ?? '';
      // Error bodies, and upstreams that ignore `stream: true`, are collected whole.
      if (statusCode >= 400 || !contentType.includes('text/event-stream')) plainBody = [];
      const cap = statusCode >= 400 ? ERROR_BODY_CAP : maxResponseBytes;
      return new Writable({
        write(chunk: Buffer, _encoding, callback) {
          try {
            if (plainBody) {
              plainBytes += chunk.length;
              if (plainBytes <= cap) plainBody.push(chunk);
              else if (statusCode < 400) throw new UpstreamError('protocol', "The upstream's answer exceeds the size limit.");
            } else {
              parser.push(chunk);
            }
            callback();
          } catch (error) {
            callback(error as Error);
          }
        },
      });
    });
    try {
      await receive;
    } catch (error) {
      // Once the status line is in, a failure is a connection broken mid-answer.
      if (status === 0 || error instanceof UpstreamError || requestOptions.signal.aborted) throw error;
      throw brokenAnswer(error, status, requestId);
    }

    if (plainBody) {
      const text = Buffer.concat(plainBody).toString('utf8');
      if (status >= 400) throw httpError(status, text, requestId, responseHeaders);
      const completion = completionFromBody(parseJson(text, requestId), model, requestId);
      if (completion.text) onText(completion.text);
      return completion;
    }
    parser.end();
    if (!done && !accumulator.finished) {
      throw new UpstreamError('network', "The upstream's stream ended before the answer was complete.", { requestId });
    }
    return accumulator.result(requestId);
  }

  function httpError(
    status: number,
    body: string,
    requestId: string | undefined,
    headers: Record<string, string | string[] | undefined>,
  ): UpstreamError {
    const upstreamMessage = upstreamMessageOf(body, secrets);
    const said = upstreamMessage ? `: ${upstreamMessage.replace(/\.$/, '')}` : '';
    const wait = retryAfterMs(headers);
    return new UpstreamError('http', `${statusSummary(status)} (HTTP ${status})${said}. ${statusAdvice(status)}`, {
      status,
      requestId,
      ...(wait !== undefined ? { retryAfterMs: wait } : {}),
      ...(upstreamMessage ? { upstreamMessage } : {}),
    });
  }

  function brokenAnswer(error: unknown, status: number, requestId: string | undefined): UpstreamError {
    return new UpstreamError('network', `The upstream's connection broke mid-answer (${errorCode(error)}).`, {
      status,
      requestId,
      retryable: true,
      cause: error,
    });
  }

  function networkError(error: unknown): UpstreamError {
    const code = errorCode(error);
    return new UpstreamError(
      'network',
      `Could not reach the upstream at ${origin} (${code}). Check OPENAI_BASE_URL, the network, and any HTTPS_PROXY/NO_PROXY settings.`,
      { cause: error },
    );
  }

  return {
    name: 'openai',
    complete,
    async close() {
      if (loaded) await (await loaded).dispatcher.close().catch(() => undefined);
    },
  };
}

function parseJson(text: string, requestId: string | undefined): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UpstreamError('protocol', 'The upstream answered with something that is not JSON.', { requestId });
  }
}

/** Reads a body up to `cap` bytes (events, not async iteration: this is on every call's path). */
function readCapped(body: Readable, cap: number, strict: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (): void => {
      body.off('data', onData);
      body.off('end', done);
      body.off('error', onError);
      resolve(Buffer.concat(chunks, Math.min(size, cap)).toString('utf8'));
    };
    const onError = (error: Error): void => {
      body.off('data', onData);
      body.off('end', done);
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= cap) return void chunks.push(chunk);
      body.off('error', onError);
      body.on('error', () => undefined);
      body.destroy();
      if (strict) {
        body.off('data', onData);
        body.off('end', done);
        reject(new UpstreamError('protocol', "The upstream's answer exceeds the size limit."));
      } else {
        done();
      }
    };
    body.on('data', onData);
    body.on('end', done);
    body.on('error', onError);
  });
}

function headerOf(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function errorCode(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    const record = current as { code?: unknown; errors?: unknown[]; cause?: unknown };
    if (typeof record.code === 'string') return record.code;
    current = Array.isArray(record.errors) ? record.errors[0] : record.cause;
  }
  return error instanceof Error ? error.message.slice(0, 100) : 'unknown error';
}

function statusSummary(status: number): string {
  if (status === 401) return 'The upstream rejected the API key';
  if (status === 403) return 'The upstream refused access';
  if (status === 404) return 'The upstream does not know this model or endpoint';
  if (status === 408) return 'The upstream timed out';
  if (status === 429) return 'The upstream rate-limited the call';
  if (status >= 500) return 'The upstream failed';
  return 'The upstream rejected the request';
}

function statusAdvice(status: number): string {
  if (status === 401) return 'Check OPENAI_API_KEY.';
  if (status === 403) return 'Check that the key may use this model and endpoint.';
  if (status === 404) return 'Check the model name and OPENAI_BASE_URL.';
  if (status === 429) return "Wait and try again, or check the account's rate limits and quota.";
  if (status === 408 || status === 409 || status >= 500) return 'Try again later.';
  return 'Check the arguments (model, temperature, max_tokens, extra).';
}
