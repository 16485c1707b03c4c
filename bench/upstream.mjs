// A fast fake OpenAI server for benchmarks: a fixed Chat Completions answer (streamed when
// asked), or a fixed Responses API answer on /v1/responses, optionally after a delay. Runs in its own process so
// the relay under test has its own core.
//   node bench/upstream.mjs [delayMs]   -> prints "listening <port>" on stdout
import { createServer } from 'node:http';

const delayMs = Number(process.argv[2] ?? 0);
const body = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1700000000,
  model: 'gpt-4o-mini-2024-07-18',
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: 'The quick brown fox jumps over the lazy dog.', refusal: null },
      finish_reason: 'stop',
      logprobs: null,
    },
  ],
  usage: { prompt_tokens: 12, completion_tokens: 10, total_tokens: 22 },
});
const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-request-id': 'req_bench' };
const responseBody = JSON.stringify({
  id: 'resp_bench',
  object: 'response',
  created_at: 1700000000,
  status: 'completed',
  model: 'gpt-4o-mini-2024-07-18',
  output: [
    {
      type: 'message',
      id: 'msg_bench',
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text: 'The quick brown fox jumps over the lazy dog.', annotations: [] }],
    },
  ],
  error: null,
  incomplete_details: null,
  usage: {
    input_tokens: 12,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: 10,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 22,
  },
});
const responseHeaders = { ...headers, 'content-length': Buffer.byteLength(responseBody) };

// A streamed Chat Completions answer (stream: true): the same text in four chunks, the usage, [DONE].
const chunk = (delta, finish = null, extra = {}) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1700000000, model: 'gpt-4o-mini-2024-07-18', choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }], ...extra })}\n\n`;
const streamed = [
  chunk({ role: 'assistant', content: '' }),
  ...['The quick brown ', 'fox jumps ', 'over the lazy ', 'dog.'].map((content) => chunk({ content })),
  chunk({}, 'stop'),
  `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1700000000, model: 'gpt-4o-mini-2024-07-18', choices: [], usage: { prompt_tokens: 12, completion_tokens: 10, total_tokens: 22 } })}\n\n`,
  'data: [DONE]\n\n',
].join('');
const streamHeaders = { 'content-type': 'text/event-stream', 'content-length': Buffer.byteLength(streamed), 'x-request-id': 'req_bench' };

const server = createServer((req, res) => {
  let request = '';
  req.setEncoding('utf8');
  req.on('data', (text) => (request += text));
  req.on('end', () => {
    const responses = req.url.endsWith('/responses');
    const stream = !responses && request.includes('"stream":true');
    const answer = () => {
      if (res.destroyed) return;
      if (stream) return void res.writeHead(200, streamHeaders).end(streamed);
      res.writeHead(200, responses ? responseHeaders : headers).end(responses ? responseBody : body);
    };
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  });
});
server.keepAliveTimeout = 60_000;
server.headersTimeout = 61_000;
server.maxRequestsPerSocket = 0;
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => process.stdout.write(`listening ${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));
