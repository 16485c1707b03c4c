/** Spawns the built server in stdio mode and speaks raw JSON lines to it. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export const BIN = new URL('../dist/openai-mcp-relay.cjs', import.meta.url).pathname;

export interface RawMessage {
  jsonrpc?: string;
  id?: unknown;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
}

export class StdioProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** Every stdout line, parsed; a line that is not a JSON-RPC message is recorded in `junk`. */
  readonly messages: RawMessage[] = [];
  readonly junk: string[] = [];
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: (() => void)[] = [];

  constructor(args: string[], env: Record<string, string>) {
    this.child = spawn(process.execPath, [BIN, '--transport', 'stdio', ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let partial = '';
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString('utf8');
      partial += chunk.toString('utf8');
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        try {
          const parsed = JSON.parse(line) as RawMessage | RawMessage[];
          for (const message of Array.isArray(parsed) ? parsed : [parsed]) {
            if (message.jsonrpc !== '2.0') this.junk.push(line);
            this.messages.push(message);
          }
        } catch {
          this.junk.push(line);
        }
      }
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  send(message: unknown): void {
    this.child.stdin.write(`${typeof message === 'string' ? message : JSON.stringify(message)}\n`);
  }

  async waitFor(predicate: (m: RawMessage) => boolean, timeoutMs = 5000): Promise<RawMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`timed out; stdout so far:\n${this.stdout}\nstderr:\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50).unref();
      });
    }
  }

  async request(message: { id: unknown } & Record<string, unknown>, timeoutMs?: number): Promise<RawMessage> {
    this.send({ jsonrpc: '2.0', ...message });
    return this.waitFor((m) => m.id === message.id && ('result' in m || 'error' in m), timeoutMs);
  }

  async initialize(protocolVersion = '2025-11-25'): Promise<RawMessage> {
    const reply = await this.request({
      id: 'init',
      method: 'initialize',
      params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    this.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    return reply;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
