import { parseJson } from './body.ts';
import type { CallBudget, JsonAnswer, Undici, UpstreamHttp } from './http-client.ts';
import { BrokenResponse, headerValue, type AnswerReader, type TextResponse } from './text-request.ts';

/** One JSON call's reading of its answer: the status, the request id, the body parsed and decoded. */
export class JsonReader<T, A> implements AnswerReader<T> {
  constructor(
    private readonly http: UpstreamHttp,
    private readonly undici: Undici,
    private readonly call: CallBudget,
    private readonly decode: (answer: JsonAnswer, arg: A) => T,
    private readonly arg: A,
  ) {}

  read({ statusCode, rawHeaders, text }: TextResponse): T {
    const { http } = this;
    if (statusCode >= 400) {
      const headers = this.undici.parseHeaders(rawHeaders);
      throw http.httpError(statusCode, text, http.requestIdOf(headers), headers);
    }
    const requestId = http.plainRequestId(headerValue(rawHeaders, 'x-request-id'));
    return this.decode({ body: parseJson(text, requestId), status: statusCode, requestId }, this.arg);
  }

  failed(error: unknown): unknown {
    const { http, call } = this;
    if (error instanceof BrokenResponse && !call.signal.aborted) {
      return http.brokenAnswer(error.cause, error.statusCode, http.plainRequestId(headerValue(error.rawHeaders, 'x-request-id')));
    }
    return http.failureOf(call, error instanceof BrokenResponse ? error.cause : error);
  }
}
