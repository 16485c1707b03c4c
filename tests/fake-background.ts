/**
 * Background responses for the fake upstream, as the Responses API runs them: `POST /responses`
 * with `background: true` answers at once (`queued`, JSON; or with `stream: true` an event
 * stream from `response.created`), the response then moves queued → in_progress → a terminal
 * status; `GET /responses/{id}` reads it, `GET /responses/{id}?stream=true&starting_after=N`
 * streams its events after sequence number N, `POST /responses/{id}/cancel` cancels it.
 * Tests script it: how many polls see each status, a response held until the test finishes it,
 * connections cut after given sequence numbers.
 */
import type { ServerResponse } from 'node:http';
import { responseObject, sendJson, sseEvent } from './fake-responses.ts';

export interface BackgroundScript {
  type: 'background';
  pieces?: string[];
  /** Polls that see `queued`, then `in_progress`, before the response is done (default 1 and 1). */
  queuedPolls?: number;
  inProgressPolls?: number;
  /** The response works until the test calls `finish(id)` (polls and streams wait). */
  held?: boolean;
  end?: 'completed' | 'failed' | 'incomplete';
  error?: { code: string; message: string };
  /** Streaming: the connection is cut right after the event with each of these sequence numbers (once each). */
  cutAfter?: number[];
  /** Streaming: each new connection (the first, every resume) waits until the test calls `proceed()`. */
  paced?: boolean;
  /** Resumed streams (`?stream=true`) are answered with the response as JSON, as some servers do. */
  resumeAsJson?: boolean;
  /** The first polls answer with these HTTP statuses (an OpenAI error body) instead of the response. */
  failPolls?: number[];
}

export interface BackgroundResponse {
  id: string;
  request: Record<string, unknown>;
  status: 'queued' | 'in_progress' | 'completed' | 'failed' | 'incomplete' | 'cancelled';
  polls: number;
  /** Every event of the response in order; an event's index is its sequence number. */
  events: string[];
  /** Streams reading it: each told when more may be sent. */
  readers: Set<() => void>;
  script: BackgroundScript;
  /** Resume requests seen, with their starting_after. */
  resumes: number[];
}

export interface BackgroundEngine {
  readonly responses: Map<string, BackgroundResponse>;
  /** Ids cancelled through POST /responses/{id}/cancel, in order. */
  readonly cancelled: string[];
  /** Handles the request if it is a background one or names one; true when answered. */
  handle(method: string, path: string, body: Record<string, unknown>, res: ServerResponse, script: BackgroundScript | undefined): boolean;
  /** Lets a held response (every held one without an id) finish. */
  finish(id?: string): void;
  /** Lets the next paced connection go. */
  proceed(): void;
  reset(): void;
}

let sequence = 0;

function working(r: BackgroundResponse): boolean {
  return r.status === 'queued' || r.status === 'in_progress';
}

export function createBackgroundEngine(store: (response: Record<string, unknown>) => void): BackgroundEngine {
  const responses = new Map<string, BackgroundResponse>();
  const cancelled: string[] = [];
  let gates: (() => void)[] = [];
  let permits = 0;
  const gate = (script: BackgroundScript, go: () => void): void => {
    if (!script.paced) return go();
    if (permits > 0) {
      permits--;
      return go();
    }
    gates.push(go);
  };

  const snapshot = (r: BackgroundResponse): Record<string, unknown> => {
    const pending = r.status === 'queued' || r.status === 'in_progress';
    return responseObject(r.request, {
      id: r.id,
      text: pending || r.status === 'cancelled' ? '' : (r.script.pieces ?? ['Background answer.']).join(''),
      status: r.status,
      incompleteReason: r.status === 'incomplete' ? 'max_output_tokens' : undefined,
      error: r.status === 'failed' ? (r.script.error ?? { code: 'server_error', message: 'The background response failed.' }) : undefined,
      output: pending || r.status === 'cancelled' ? [] : undefined,
    });
  };

  const settle = (r: BackgroundResponse, status: BackgroundResponse['status']): void => {
    if (!working(r)) return;
    r.status = status;
    if (status !== 'cancelled') {
      const final = snapshot(r);
      if (status !== 'failed') store(final);
      r.events.push(sseEvent(`response.${status}`, { response: final }, r.events.length));
    }
    for (const wake of [...r.readers]) setImmediate(wake);
  };

  const create = (body: Record<string, unknown>, script: BackgroundScript): BackgroundResponse => {
    const id = `resp_bg${++sequence}`;
    const own = {
      ...script,
      ...(script.cutAfter ? { cutAfter: [...script.cutAfter] } : {}),
      ...(script.failPolls ? { failPolls: [...script.failPolls] } : {}),
    };
    const r: BackgroundResponse = {
      id,
      request: body,
      status: 'queued',
      polls: 0,
      events: [],
      readers: new Set(),
      script: own,
      resumes: [],
    };
    responses.set(id, r);
    const push = (type: string, fields: object): void => void r.events.push(sseEvent(type, fields, r.events.length));
    const pending = (status: string) => ({ ...snapshot(r), status });
    push('response.created', { response: pending('queued') });
    push('response.queued', { response: pending('queued') });
    push('response.in_progress', { response: pending('in_progress') });
    const item = `msg_${id}`;
    push('response.output_item.added', {
      output_index: 0,
      item: { type: 'message', id: item, role: 'assistant', status: 'in_progress', content: [] },
    });
    for (const delta of script.pieces ?? ['Background answer.']) {
      push('response.output_text.delta', { item_id: item, output_index: 0, content_index: 0, delta, logprobs: [] });
    }
    return r;
  };

  /** Streams the events after `after`, waiting for more while the response works; cuts where the script says. */
  const stream = (r: BackgroundResponse, after: number, res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    let next = after + 1;
    const pump = (): void => {
      if (res.destroyed || res.writableEnded) return void r.readers.delete(pump);
      for (;;) {
        if (next >= r.events.length) {
          // Everything written: a response that is not held is done now.
          if (working(r) && !r.script.held) {
            settle(r, r.script.end ?? 'completed');
            continue;
          }
          break;
        }
        // While held, the deltas wait too: the model has not written them yet.
        const event = r.events[next]!;
        if (working(r) && r.script.held && event.includes('"response.output_text.delta"')) break;
        const cutAt = r.script.cutAfter?.indexOf(next) ?? -1;
        next++;
        if (cutAt >= 0) {
          // The event reaches the client, then the connection breaks.
          r.script.cutAfter!.splice(cutAt, 1);
          r.readers.delete(pump);
          return void res.write(event, () => res.socket?.destroy());
        }
        res.write(event);
      }
      if (!working(r)) {
        r.readers.delete(pump);
        res.end();
      }
    };
    r.readers.add(pump);
    res.on('close', () => r.readers.delete(pump));
    gate(r.script, pump);
  };

  const engine: BackgroundEngine = {
    responses,
    cancelled,
    handle(method, path, body, res, script) {
      const url = new URL(path, 'http://fake');
      if (method === 'POST' && url.pathname.endsWith('/responses') && body.background === true) {
        const r = create(body, script ?? { type: 'background' });
        if (body.stream === true) stream(r, -1, res);
        else sendJson(res, 200, snapshot(r));
        return true;
      }
      const named = /\/responses\/([^/]+)(\/cancel)?$/.exec(url.pathname);
      const r = named ? responses.get(named[1]!) : undefined;
      if (!named || !r) return false;
      if (named[2]) {
        if (method !== 'POST') return false;
        cancelled.push(r.id);
        settle(r, 'cancelled');
        sendJson(res, 200, snapshot(r));
        return true;
      }
      if (method !== 'GET') return false;
      if (url.searchParams.get('stream') === 'true') {
        const after = Number(url.searchParams.get('starting_after') ?? '-1');
        r.resumes.push(after);
        if (r.script.resumeAsJson) {
          r.script.held = false;
          settle(r, r.script.end ?? 'completed');
          sendJson(res, 200, snapshot(r));
        } else {
          stream(r, after, res);
        }
        return true;
      }
      const failure = r.script.failPolls?.shift();
      if (failure !== undefined) {
        sendJson(res, failure, { error: { message: `fake poll failure ${failure}`, type: 'server_error', param: null, code: null } });
        return true;
      }
      r.polls++;
      if (r.status === 'queued' && r.polls > (r.script.queuedPolls ?? 1)) r.status = 'in_progress';
      if (r.status === 'in_progress' && !r.script.held && r.polls > (r.script.queuedPolls ?? 1) + (r.script.inProgressPolls ?? 1)) {
        settle(r, r.script.end ?? 'completed');
      }
      sendJson(res, 200, snapshot(r));
      return true;
    },
    finish(id) {
      for (const r of responses.values()) {
        if (id !== undefined && r.id !== id) continue;
        if (!r.script.held) continue;
        r.script.held = false;
        r.status = 'in_progress';
        settle(r, r.script.end ?? 'completed');
      }
    },
    proceed() {
      const go = gates.shift();
      if (go) go();
      else permits++;
    },
    reset() {
      responses.clear();
      cancelled.length = 0;
      gates = [];
      permits = 0;
    },
  };
  return engine;
}
