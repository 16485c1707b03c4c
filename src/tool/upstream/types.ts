import type { CancelSignal } from '../../cancel.ts';
import type { UpstreamError } from './errors.ts';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import type { ResponseCreateParamsNonStreaming } from 'openai/resources/responses/responses';

/** The Chat Completions request body, as OpenAI defines it; `stream` is the client's to set. */
export type ChatRequest = Omit<ChatCompletionCreateParamsNonStreaming, 'stream' | 'stream_options'>;

/** The Responses request body, as OpenAI defines it; `stream` and `background` are the client's to set. */
export type ResponsesRequest = Omit<ResponseCreateParamsNonStreaming, 'stream' | 'stream_options' | 'background'> & { model: string };

/**
 * One call for the upstream: which API, and its body. A `background` Responses call is
 * created with `background: true` and followed (its stream resumed, or the response polled)
 * until it is done.
 */
export type UpstreamCall = { api: 'chat'; body: ChatRequest } | { api: 'responses'; body: ResponsesRequest; background?: boolean };

export interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  /** Tokens a reasoning model spent thinking, when the upstream reports them. */
  reasoning_tokens?: number;
  /** Prompt tokens served from the upstream's cache, when it reports them. */
  cached_tokens?: number;
}

export interface Citation {
  url: string;
  title?: string;
}

/** What `generate` needs from one completed upstream call, whichever API answered. */
export interface Completion {
  text: string;
  model: string;
  finishReason: string | null;
  usage: Usage | undefined;
  requestId: string | undefined;
  /** The Responses API's id for this answer (chain a conversation with previous_response_id). */
  responseId?: string;
  /** URL citations, in order of first use, each URL once. */
  citations?: Citation[];
  /** The reasoning summary the model returned, when asked for one. */
  reasoningSummary?: string;
  /** The upstream's HTTP status (absent for the echo upstream). */
  status?: number;
  /** Attempts it took, retries included. */
  attempts?: number;
}

export interface RetryNotice {
  attempt: number;
  status: number | undefined;
  waitMs: number;
  message: string;
}

export interface CompleteOptions {
  /** Aborted when the call is cancelled, or (with a DeadlineExceeded reason) out of time. */
  signal: CancelSignal;
  /** When the call as a whole must be over (epoch ms, on the app's clock). */
  deadline: number;
  /** When set, the upstream streams and each new piece of text is passed here as it arrives. */
  onText?: (text: string) => void;
  /** When streaming, each new piece of reasoning summary (Responses API). */
  onReasoning?: (text: string) => void;
  /** Told before each retry. */
  onRetry?: (notice: RetryNotice) => void;
  /** A background call: told the response's id once the upstream has created it. */
  onBackground?: (responseId: string) => void;
  /** What the call is waiting on upstream, in words ("the background response is queued upstream"), when it changes. */
  onWaiting?: (what: string) => void;
}

/** Where a background response stands, read from the upstream by its id. */
export type BackgroundState =
  | { status: 'working'; what: string }
  | { status: 'completed'; completion: Completion }
  | { status: 'failed'; error: UpstreamError }
  | { status: 'cancelled' };

/** Background responses read and cancelled by id: what any replica needs to answer for a task. */
export interface BackgroundResponses {
  read(responseId: string, budget: { signal: CancelSignal; deadline: number }): Promise<BackgroundState>;
  /** Asks the upstream to stop; resolves with where the response stands afterwards. */
  cancel(responseId: string, budget: { signal: CancelSignal; deadline: number }): Promise<BackgroundState>;
}

/** Where prompts go: the OpenAI-compatible HTTP API, or the offline echo. */
export interface Upstream {
  readonly name: string;
  complete(call: UpstreamCall, options: CompleteOptions): Promise<Completion>;
  /** Background responses by id (the OpenAI upstream only). */
  readonly background?: BackgroundResponses;
  /** Releases pooled connections; in-flight calls are aborted by their own signals. */
  close(): Promise<void>;
}
