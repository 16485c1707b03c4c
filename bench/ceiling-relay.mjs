// The ceiling relay: a REFERENCE for benchmarks, not a product. It does the least work an MCP
// relay over HTTP can: node:http in, JSON.parse, one undici.request on an uncapped keep-alive
// Agent, one JSON reply out. No validation, no logging, no limits, no auth, no sessions worth
// the name (any Mcp-Session-Id is accepted). What it carries is what Node allows a relay; our
// figures are read as ratios of its, taken in the same run.
//   node bench/ceiling-relay.mjs   (env: OPENAI_BASE_URL, PORT) -> prints {"port":N} on stderr
import { createServer } from 'node:http';
import { Agent, request } from 'undici';

const upstream = new URL(`${process.env.OPENAI_BASE_URL ?? 'http://127.0.0.1:8080/v1'}/chat/completions`);
const dispatcher = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 });
const upstreamHeaders = { 'content-type': 'application/json', authorization: `Bearer ${process.env.OPENAI_API_KEY ?? 'k'}` };
const jsonHeaders = { 'content-type': 'application/json' };

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', async () => {
    const message = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (message.id === undefined) return void res.writeHead(202).end();
    if (message.method === 'initialize') {
      const result = {
        protocolVersion: message.params.protocolVersion,
        capabilities: { tools: {} },
        serverInfo: { name: 'ceiling', version: '1' },
      };
      res.writeHead(200, { ...jsonHeaders, 'mcp-session-id': 'ceiling' });
      return void res.end(JSON.stringify({ jsonrpc: '2.0', id: message.id, result }));
    }
    const answer = await request(upstream, {
      dispatcher,
      method: 'POST',
      headers: upstreamHeaders,
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: message.params.arguments.prompt }] }),
    });
    const completion = await answer.body.json();
    const text = completion.choices[0].message.content;
    res.writeHead(200, jsonHeaders);
    res.end(JSON.stringify({ jsonrpc: '2.0', id: message.id, result: { content: [{ type: 'text', text }] } }));
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () =>
  process.stderr.write(`${JSON.stringify({ port: server.address().port })}\n`),
);
process.on('SIGTERM', () => process.exit(0));
