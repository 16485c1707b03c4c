import type { CallContext } from './context.ts';
import { invalidParams } from './errors.ts';
import { declaresTasks } from './tasks/methods.ts';
import { tasksNotDeclared } from './tasks/service.ts';
import { isObject, notification, type JsonObject } from './messages.ts';

const SUBSCRIPTION_ID = 'io.modelcontextprotocol/subscriptionId';
const FILTER_FLAGS = ['toolsListChanged', 'promptsListChanged', 'resourcesListChanged'];

/**
 * 2026-07-28 `subscriptions/listen`: every server supports the pattern, whatever it can
 * notify. This one has no change notifications to offer (its tool list never changes while
 * it runs), so it acknowledges an empty filter and holds the stream open until the client
 * cancels (closing the stream, or notifications/cancelled on stdio), the server stops, or the
 * stream has been idle for MCP_STREAM_IDLE_MS. A server teardown sends notifications/cancelled
 * for the subscription, as the spec requires, and then the graceful-closure result.
 */
export async function listen(params: JsonObject, call: CallContext): Promise<JsonObject> {
  const filter = params.notifications;
  if (!isObject(filter)) throw invalidParams('subscriptions/listen: "notifications" must be an object');
  for (const flag of FILTER_FLAGS) {
    if (flag in filter && typeof filter[flag] !== 'boolean')
      throw invalidParams(`subscriptions/listen: "notifications.${flag}" must be a boolean`);
  }
  const uris = filter.resourceSubscriptions;
  if (uris !== undefined && !(Array.isArray(uris) && uris.every((uri) => typeof uri === 'string'))) {
    throw invalidParams('subscriptions/listen: "notifications.resourceSubscriptions" must be an array of strings');
  }
  const taskIds = filter.taskIds;
  if (taskIds !== undefined) {
    if (!(Array.isArray(taskIds) && taskIds.every((id) => typeof id === 'string'))) {
      throw invalidParams('subscriptions/listen: "notifications.taskIds" must be an array of strings');
    }
    // Task notifications are the tasks extension's; a client must declare it to ask for them.
    if (call.app.tasks.enabled && !declaresTasks(call)) {
      throw tasksNotDeclared();
    }
  }
  // Nothing is acknowledged, task ids included: this server pushes no task notifications (clients poll tasks/get).
  const meta = { [SUBSCRIPTION_ID]: call.id };
  call.notify(notification('notifications/subscriptions/acknowledged', { _meta: meta, notifications: {} }));
  const { stopping, clock, limits } = call.app;
  // Nothing is ever sent on this stream after the acknowledgement, so it is idle from then on:
  // like every long-lived stream it has an end (MCP_STREAM_IDLE_MS), and the client re-listens.
  let reason = 'the server is shutting down';
  await new Promise<void>((resolve) => {
    if (call.signal.aborted || stopping.aborted) return resolve();
    const done = (): void => {
      clock.clearTimeout(idle);
      call.signal.removeEventListener('abort', done);
      stopping.removeEventListener('abort', done);
      resolve();
    };
    const idle = clock.setTimeout(() => {
      reason = `the subscription carried nothing for ${limits.streamIdleMs} ms (MCP_STREAM_IDLE_MS); listen again to resume`;
      done();
    }, limits.streamIdleMs);
    call.signal.addEventListener('abort', done, { once: true });
    stopping.addEventListener('abort', done, { once: true });
  });
  // A client's cancel gets no reply (the core drops it); a server teardown ends gracefully.
  if (!call.cancelled) call.notify(notification('notifications/cancelled', { requestId: call.id, reason }));
  return { _meta: meta };
}
