// A fast fake Chat Completions server for benchmarks: a fixed JSON answer, optionally after a
// delay. Runs in its own process so the relay under test has its own core.
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

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const answer = () => {
      if (!res.destroyed) res.writeHead(200, headers).end(body);
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
