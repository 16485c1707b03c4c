/**
 * The reference relay for benchmarks: the same `generate` tool built the usual way, on the
 * official MCP SDK (McpServer, its stdio and Streamable HTTP transports) and the `openai`
 * SDK. Both are devDependencies; nothing here ships. Bundled with its packages external,
 * as an application using them is, by bench/run.ts.
 *
 *   node reference-relay.mjs stdio|http   (env: OPENAI_BASE_URL, OPENAI_API_KEY, PORT)
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import OpenAI from 'openai';
import { z } from 'zod';

const openai = new OpenAI({
  baseURL: process.env.OPENAI_BASE_URL,
  apiKey: process.env.OPENAI_API_KEY ?? 'k',
  maxRetries: 2,
  timeout: 60_000,
});

function buildServer(): McpServer {
  const server = new McpServer({ name: 'reference-relay', version: '1.0.0' });
  server.registerTool(
    'generate',
    {
      title: 'Generate text',
      description: 'Send a prompt to an OpenAI-compatible chat model and return its answer.',
      inputSchema: {
        prompt: z.string().min(1),
        model: z.string().min(1).optional(),
        temperature: z.number().min(0).max(2).optional(),
        max_tokens: z.number().int().min(1).optional(),
        extra: z.record(z.string(), z.unknown()).optional(),
      },
      outputSchema: {
        text: z.string(),
        model: z.string(),
        finish_reason: z.string().nullable(),
        usage: z.object({ prompt_tokens: z.number(), completion_tokens: z.number(), total_tokens: z.number() }).partial().optional(),
      },
    },
    async ({ prompt, model, temperature, max_tokens, extra }, { signal }) => {
      try {
        const completion = await openai.chat.completions.create(
          {
            ...extra,
            model: model ?? 'gpt-4o-mini',
            messages: [{ role: 'user', content: prompt }],
            temperature: temperature ?? 0.2,
            ...(max_tokens ? { max_tokens } : {}),
          },
          { signal },
        );
        const choice = completion.choices[0];
        const structured = {
          text: choice?.message.content ?? '',
          model: completion.model,
          finish_reason: choice?.finish_reason ?? null,
          ...(completion.usage ? { usage: completion.usage } : {}),
        };
        return { content: [{ type: 'text', text: JSON.stringify(structured) }], structuredContent: structured };
      } catch (error) {
        return { content: [{ type: 'text', text: String(error) }], isError: true };
      }
    },
  );
  return server;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
}

if (process.argv[2] === 'stdio') {
  await buildServer().connect(new StdioServerTransport());
} else {
  // The SDK's stateful Streamable HTTP pattern: one transport (and server) per session.
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const http = createServer(async (req, res) => {
    try {
      const sessionId = req.headers['mcp-session-id'] as string | undefined;
      let transport = sessionId ? transports.get(sessionId) : undefined;
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      if (!transport) {
        transport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          enableJsonResponse: true,
          onsessioninitialized: (id) => void transports.set(id, transport!),
        });
        transport.onclose = () => {
          if (transport!.sessionId) transports.delete(transport!.sessionId);
        };
        await buildServer().connect(transport);
      }
      await transport.handleRequest(req, res, body);
    } catch {
      if (!res.headersSent) res.writeHead(500).end();
    }
  });
  http.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    const address = http.address();
    process.stderr.write(`listening "port":${typeof address === 'object' && address ? address.port : 0}\n`);
  });
}
