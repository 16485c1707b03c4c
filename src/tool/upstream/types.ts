import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';

/** The Chat Completions request body, as OpenAI defines it; `stream` is the client's to set. */
export type ChatRequest = Omit<ChatCompletionCreateParamsNonStreaming, 'stream' | 'stream_options'>;

export interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  /** Tokens a reasoning model spent thinking, when the upstream reports them. */
  reasoning_tokens?: number;
}

/** What `generate` needs from one completed upstream call. */
export interface Completion {
  text: string;
  model: string;
  finishReason: string | null;
  usage: Usage | undefined;
  requestId: string | undefined;
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
  signal: AbortSignal;
  /** When the call as a whole must be over (epoch ms). */
  deadline: number;
  /** When set, the upstream streams and each new piece of text is passed here as it arrives. */
  onText?: (text: string) => void;
  /** Told before each retry. */
  onRetry?: (notice: RetryNotice) => void;
}

/** Where prompts go: the OpenAI-compatible HTTP API, or the offline echo. */
export interface Upstream {
  readonly name: string;
  complete(request: ChatRequest, options: CompleteOptions): Promise<Completion>;
  /** Releases pooled connections; in-flight calls are aborted by their own signals. */
  close(): Promise<void>;
}
