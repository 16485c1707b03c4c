/**
 * A fake OpenAI Chat Completions server for tests, on loopback port 0. It speaks the real
 * wire format (JSON completions, streamed `chat.completion.chunk` events ending in [DONE],
 * OpenAI-shaped error bodies, 429 with Retry-After) and misbehaves on demand (slow first
 * byte, dropped connections, truncated streams). It records every request it receives and
 * when each connection closed, so tests can assert on what the relay forwarded and aborted.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  errorBody,
  isResponsesOnlyModel,
  RESPONSES_ONLY_REFUSAL,
  type ResponsesBehaviour,
  responseObject,
  sendJson,
  streamEvents,
} from './fake-responses.ts';
import { type BackgroundEngine, type BackgroundScript, createBackgroundEngine } from './fake-background.ts';

export type Behaviour =
  | ResponsesBehaviour
  /** A background response (see fake-background.ts); a background request with nothing queued gets the default one. */
  | BackgroundScript
  | {
      type: 'json';
      content?: string | null;
      /** `message.annotations` (search models' url citations). */
      annotations?: object[];
      model?: string;
      finishReason?: string | null;
      usage?: object | null;
      delayMs?: number;
      headers?: Record<string, string>;
    }
  | {
      type: 'stream';
      pieces: string[];
      intervalMs?: number;
      model?: string;
      finishReason?: string;
      usage?: object | null;
      done?: boolean;
      dropAfter?: number;
      errorAfter?: number;
      /** After [DONE], keep the response open instead of ending it. */
      holdOpen?: boolean;
    }
  /** An error status whose body never ends (a chunk every tick). */
  | { type: 'endless-error'; status: number }
  | { type: 'error'; status: number; message?: string; body?: string; headers?: Record<string, string>; delayMs?: number }
  | { type: 'hang' }
  /** A JSON completion held back until the test calls `release()`: the test decides when calls end. */
  | { type: 'held'; content?: string }
  | { type: 'drop' }
  | { type: 'raw'; status: number; headers?: Record<string, string>; body: string }
  /** Declares a longer body than it sends, then drops the connection (truncated JSON). */
  | { type: 'truncated'; body: string }
  /** An event stream of the given raw chunks (for malformed streams). */
  | { type: 'raw-stream'; chunks: string[]; intervalMs?: number };

export interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  /** Settles when the connection or response closes; `aborted` if it closed before the reply ended. */
  closed: Promise<{ at: number; aborted: boolean }>;
  receivedAt: number;
}

export interface FakeUpstream {
  /** Base URL to use as OPENAI_BASE_URL, e.g. http://127.0.0.1:1234/v1 */
  readonly baseUrl: string;
  readonly requests: Received[];
  /** Responses stored by id (what previous_response_id and GET /responses/{id} find). */
  readonly stored: Map<string, Record<string, unknown>>;
  /** Background responses: their state, the cancels received, and the test's controls. */
  readonly background: BackgroundEngine;
  /** Queue behaviours for the next requests, in order; when the queue is empty, `fallback` answers. */
  next(...behaviours: Behaviour[]): void;
  /** Forgets recorded requests and queued behaviours (between tests). */
  reset(): void;
  fallback: (request: Received) => Behaviour;
  /** Answers the `count` oldest held requests (behaviour `held`); returns how many were answered. */
  release(count?: number): number;
  /** Held requests not yet answered. */
  readonly held: number;
  /** Resolves when `count` requests have arrived. */
  waitForRequests(count: number, timeoutMs?: number): Promise<Received[]>;
  openConnections(): number;
  close(): Promise<void>;
}

let sequence = 0;

export async function startFakeUpstream(): Promise<FakeUpstream> {
  const queue: Behaviour[] = [];
  const requests: Received[] = [];
  const waiters: (() => void)[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const heldBack: (() => void)[] = [];
  const stored = new Map<string, Record<string, unknown>>();
  const store = (response: Record<string, unknown>, request: Record<string, unknown>): void => {
    if (request.store !== false) stored.set(response.id as string, response);
  };

  const background = createBackgroundEngine((response) => void stored.set(response.id as string, response));

  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        body = {};
      }
      const closed = new Promise<{ at: number; aborted: boolean }>((resolve) => {
        res.on('close', () => resolve({ at: Date.now(), aborted: !res.writableFinished }));
      });
      const received: Received = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body,
        closed,
        receivedAt: Date.now(),
      };
      requests.push(received);
      for (const wake of waiters.splice(0)) wake();
      if (answeredAsTheApiWould(received, res)) return;
      if (isBackground(received)) {
        // Nothing queued, or a background script: the engine answers; anything else (an error) is sent as queued.
        const queued = queue[0]?.type === 'background' || queue.length === 0 ? (queue.shift() as BackgroundScript | undefined) : undefined;
        if (queued || queue.length === 0) {
          if (background.handle(received.method, received.path, body, res, queued)) return;
        }
      } else if (background.handle(received.method, received.path, body, res, undefined)) {
        return;
      }
      const behaviour = queue.shift() ?? fake.fallback(received);
      respond(behaviour, received, res);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const isBackground = (request: Received): boolean =>
    request.method === 'POST' && request.path.endsWith('/responses') && request.body.background === true;

  /** What the real API answers whatever the test queued: refusals, and reading stored responses. */
  const answeredAsTheApiWould = (request: Received, res: ServerResponse): boolean => {
    const { path, body, method } = request;
    if (path.endsWith('/chat/completions') && isResponsesOnlyModel(body.model)) {
      sendJson(res, 404, errorBody(RESPONSES_ONLY_REFUSAL, null, 'model'));
      return true;
    }
    if (path.endsWith('/responses') && typeof body.previous_response_id === 'string' && !stored.has(body.previous_response_id)) {
      sendJson(
        res,
        400,
        errorBody(
          `Previous response with id '${body.previous_response_id}' not found.`,
          'previous_response_not_found',
          'previous_response_id',
        ),
      );
      return true;
    }
    const cancel = /\/responses\/([^/?]+)\/cancel$/.exec(path);
    if (method === 'POST' && cancel && !background.responses.has(cancel[1]!)) {
      sendJson(res, 404, errorBody(`Response with id '${cancel[1]}' not found.`, null, null));
      return true;
    }
    const read = /\/responses\/([^/?]+)(\?.*)?$/.exec(path);
    if (method === 'GET' && read && !background.responses.has(read[1]!)) {
      const response = stored.get(read[1]!);
      if (response) sendJson(res, 200, response);
      else sendJson(res, 404, errorBody(`Response with id '${read[1]}' not found.`, null, null));
      return true;
    }
    return false;
  };

  const respond = (behaviour: Behaviour, request: Received, res: ServerResponse): void => {
    const id = `chatcmpl-fake${++sequence}`;
    const requestId = `req_fake_${sequence}`;
    const model = (request.body.model as string | undefined) ?? 'fake-model';
    switch (behaviour.type) {
      case 'json': {
        const send = (): void => {
          if (res.destroyed) return;
          const completion = {
            id,
            object: 'chat.completion',
            created: 1_700_000_000,
            model: behaviour.model ?? model,
            choices: [
              {
                index: 0,
                message: {
                  role: 'assistant',
                  content: behaviour.content === undefined ? 'Hello from the fake upstream.' : behaviour.content,
                  refusal: null,
                  ...(behaviour.annotations ? { annotations: behaviour.annotations } : {}),
                },
                finish_reason: behaviour.finishReason === undefined ? 'stop' : behaviour.finishReason,
                logprobs: null,
              },
            ],
            ...(behaviour.usage === null ? {} : { usage: behaviour.usage ?? { prompt_tokens: 9, completion_tokens: 6, total_tokens: 15 } }),
          };
          res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': requestId, ...behaviour.headers });
          res.end(JSON.stringify(completion));
        };
        if (behaviour.delayMs) later(behaviour.delayMs, send);
        else send();
        return;
      }
      case 'stream': {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': requestId });
        const chunk = (delta: object, finishReason: string | null, extra: object = {}): string =>
          `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1_700_000_000, model: behaviour.model ?? model, choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }], ...extra })}\n\n`;
        res.write(chunk({ role: 'assistant', content: '' }, null));
        const pieces = behaviour.pieces;
        let index = 0;
        const step = (): void => {
          if (res.destroyed) return;
          if (behaviour.dropAfter !== undefined && index >= behaviour.dropAfter) {
            res.socket?.destroy();
            return;
          }
          if (behaviour.errorAfter !== undefined && index >= behaviour.errorAfter) {
            res.end(
              `data: ${JSON.stringify({ error: { message: 'The server had an error while processing your request.', type: 'server_error' } })}\n\n`,
            );
            return;
          }
          if (index < pieces.length) {
            res.write(chunk({ content: pieces[index++] }, null));
            later(behaviour.intervalMs ?? 0, step);
            return;
          }
          res.write(chunk({}, behaviour.finishReason ?? 'stop'));
          const wantsUsage = (request.body.stream_options as { include_usage?: boolean } | undefined)?.include_usage;
          if (wantsUsage && behaviour.usage !== null) {
            res.write(
              `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1_700_000_000, model: behaviour.model ?? model, choices: [], usage: behaviour.usage ?? { prompt_tokens: 9, completion_tokens: pieces.length, total_tokens: 9 + pieces.length } })}\n\n`,
            );
          }
          if (behaviour.done !== false) res.write('data: [DONE]\n\n');
          if (!behaviour.holdOpen) res.end();
        };
        later(behaviour.intervalMs ?? 0, step);
        return;
      }
      case 'error': {
        const send = (): void => {
          if (res.destroyed) return;
          res.writeHead(behaviour.status, { 'content-type': 'application/json', 'x-request-id': requestId, ...behaviour.headers });
          res.end(
            behaviour.body ??
              JSON.stringify({
                error: {
                  message: behaviour.message ?? `fake error ${behaviour.status}`,
                  type: 'invalid_request_error',
                  param: null,
                  code: null,
                },
              }),
          );
        };
        if (behaviour.delayMs) later(behaviour.delayMs, send);
        else send();
        return;
      }
      case 'hang':
        return; // Never answers; the client must give up.
      case 'endless-error': {
        res.writeHead(behaviour.status, { 'content-type': 'application/json' });
        res.write('{"error":{"message":"');
        const more = (): void => {
          if (res.destroyed) return;
          res.write('x'.repeat(8192), () => later(1, more));
        };
        more();
        return;
      }
      case 'held': {
        const text = behaviour.content ?? 'held answer';
        const answer: Behaviour = request.path.endsWith('/responses') ? { type: 'response', text } : { type: 'json', content: text };
        heldBack.push(() => respond(answer, request, res));
        return;
      }
      case 'response': {
        const send = (): void => {
          const response = responseObject(request.body, {
            text: behaviour.text ?? 'Hello from the fake upstream.',
            model: behaviour.model,
            status: behaviour.status ?? 'completed',
            incompleteReason: behaviour.incompleteReason,
            error: behaviour.error,
            usage: behaviour.usage,
            annotations: behaviour.annotations,
            reasoningSummary: behaviour.reasoningSummary,
            output: behaviour.output,
          });
          store(response, request.body);
          sendJson(res, 200, response, { 'x-request-id': requestId, ...behaviour.headers });
        };
        if (behaviour.delayMs) later(behaviour.delayMs, send);
        else send();
        return;
      }
      case 'response-stream': {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': requestId });
        const events = streamEvents(request.body, behaviour, (response) => store(response, request.body));
        let deltas = 0;
        const step = (): void => {
          if (res.destroyed) return;
          const event = events.shift();
          if (event === undefined) return void res.end();
          if (event.includes('"response.output_text.delta"')) {
            if (behaviour.dropAfter !== undefined && deltas >= behaviour.dropAfter) return void res.socket?.destroy();
            deltas++;
          }
          res.write(event);
          later(behaviour.intervalMs ?? 0, step);
        };
        step();
        return;
      }
      case 'drop':
        res.socket?.destroy();
        return;
      case 'background':
        // Queued for a request that is not a background one: answered as a finished response.
        return respond({ type: 'response', text: (behaviour.pieces ?? ['Background answer.']).join('') }, request, res);
      case 'raw':
        res.writeHead(behaviour.status, behaviour.headers);
        res.end(behaviour.body);
        return;
      case 'truncated':
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(behaviour.body) * 2) });
        res.write(behaviour.body, () => res.socket?.destroy());
        return;
      case 'raw-stream': {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const chunks = [...behaviour.chunks];
        const next = (): void => {
          if (res.destroyed) return;
          const chunk = chunks.shift();
          if (chunk === undefined) return void res.end();
          res.write(chunk);
          later(behaviour.intervalMs ?? 0, next);
        };
        next();
        return;
      }
    }
  };

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const fake: FakeUpstream = {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    stored,
    background,
    next: (...behaviours) => void queue.push(...behaviours),
    reset: () => {
      requests.length = 0;
      queue.length = 0;
      heldBack.length = 0;
      stored.clear();
      background.reset();
    },
    fallback: (request) => (request.path.endsWith('/responses') ? { type: 'response' } : { type: 'json' }),
    release(count = 1) {
      const due = heldBack.splice(0, count);
      for (const send of due) send();
      return due.length;
    },
    get held() {
      return heldBack.length;
    },
    async waitForRequests(count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (requests.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} upstream requests, saw ${requests.length}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50).unref();
        });
      }
      return requests.slice(0, count);
    },
    openConnections: () => sockets.size,
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}
