/**
 * Local errors: they never go on the wire (wire errors are WireError, in src/protocol/errors.ts).
 * Each carries a stable string `code`, which logs and tests read; its message is for people.
 */
export class LocalError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The abort reason of a cancelled request; seeing it means: send no reply. */
export class CancelledError extends LocalError {
  constructor(reason: string) {
    super('CANCELLED', reason);
  }
}

/** A cancel that leaves the work running upstream: this process lets go, another answers for the work (a task's background response). */
export class LeftRunning extends CancelledError {}
