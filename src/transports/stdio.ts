import type { Readable, Writable } from 'node:stream';
import type { Context, ServerApp } from '../protocol/context.ts';
import { ErrorCode } from '../protocol/errors.ts';
import { handleText } from '../protocol/handle.ts';
import { errorResponse, parseErrorResponse, type OutgoingMessage, type Reply } from '../protocol/messages.ts';
import { Session } from '../protocol/session.ts';
import { fault, summarize } from '../protocol/strict/faults.ts';
import { LineReader } from './line-reader.ts';

export interface StdioOptions {
  app: ServerApp;
  input: Readable;
  output: Writable;
  maxLineBytes: number;
}

export interface StdioServer {
  /** Settles when input has ended and every reply has been written. */
  readonly done: Promise<void>;
  /** Aborts calls in flight (they get no reply), stops reading, and settles `done`. */
  shutdown(reason: string): Promise<void>;
}

/**
 * MCP over stdio: one JSON-RPC message per line in, one per line out. stdout carries protocol
 * messages only. When stdout cannot keep up, input is paused until it drains.
 */
export function serveStdio(options: StdioOptions): StdioServer {
  const { app, input, output } = options;
  const session = new Session();
  const pending = new Set<Promise<void>>();
  let closed = false;
  let outputBroken = false;

  const write = (message: OutgoingMessage | Reply): void => {
    if (outputBroken) return;
    let line: string;
    try {
      line = `${JSON.stringify(message)}\n`;
    } catch (error) {
      app.log.error('could not serialize an outgoing message', { error });
      return;
    }
    if (!output.write(line) && !input.isPaused()) {
      input.pause();
      output.once('drain', () => {
        if (!closed) input.resume();
      });
    }
  };

  const ctx: Context = { app, session, notify: write, home: write, origin: { transport: 'stdio' } };

  const track = (work: Promise<Reply | undefined>): void => {
    const task = work.then(
      (reply) => {
        if (reply !== undefined) write(reply);
      },
      (error: unknown) => app.log.error('unexpected failure while handling a message', { error }),
    );
    pending.add(task);
    void task.finally(() => pending.delete(task));
  };

  const reader = new LineReader(options.maxLineBytes, (event) => {
    if (closed) return;
    switch (event.kind) {
      case 'line':
        return track(handleText(event.text, ctx));
      case 'invalid-utf8':
        if (app.strict !== 'off') {
          fault(
            { app, session, transport: 'stdio', deliver: write, logLevel: session.askedLogLevel },
            'stdio.not-json-line',
            session.version,
            '[not UTF-8]',
          );
        }
        return write(parseErrorResponse('the message is not valid UTF-8'));
      case 'oversize':
        return write(
          errorResponse(null, {
            code: ErrorCode.InvalidRequest,
            message: `Invalid Request: message of ${event.bytes} bytes exceeds the limit of ${options.maxLineBytes} (MCP_MAX_BODY_BYTES)`,
          }),
        );
    }
  });

  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));

  const finish = async (reason: string, abort: boolean): Promise<void> => {
    if (closed) return done;
    closed = true;
    input.off('data', onData);
    input.off('end', onEnd);
    if (abort) session.close(reason);
    await Promise.allSettled([...pending]);
    session.close(reason);
    if (app.strict !== 'off') summarize(app, session, { transport: 'stdio', reason });
    await flush(output);
    resolveDone();
    return done;
  };

  const onData = (chunk: Buffer | string): void => reader.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  const onEnd = (): void => {
    reader.end();
    // The client closed our stdin: it wants us gone, so calls in flight are abandoned.
    void finish('stdin closed', true);
  };
  input.on('data', onData);
  input.on('end', onEnd);
  input.on('error', (error) => {
    app.log.warn('stdin failed', { error });
    void finish('stdin failed', true);
  });
  output.on('error', (error) => {
    outputBroken = true;
    app.log.warn('stdout failed; the client has gone', { error });
    void finish('stdout closed', true);
  });

  return { done, shutdown: (reason) => finish(reason, true) };
}

function flush(output: Writable): Promise<void> {
  if (output.destroyed || output.writableEnded) return Promise.resolve();
  return new Promise((resolve) => output.write('', () => resolve()));
}
