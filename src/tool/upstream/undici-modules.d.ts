/** Types for the undici modules src/tool/upstream/undici.ts imports by path (undici types only its index). */
declare module 'undici/lib/dispatcher/agent.js' {
  import type { Agent } from 'undici';
  const AgentClass: typeof Agent;
  export default AgentClass;
}

declare module 'undici/lib/dispatcher/env-http-proxy-agent.js' {
  import type { EnvHttpProxyAgent } from 'undici';
  const EnvHttpProxyAgentClass: typeof EnvHttpProxyAgent;
  export default EnvHttpProxyAgentClass;
}

declare module 'undici/lib/api/api-stream.js' {
  import type { Dispatcher } from 'undici';
  const stream: (this: Dispatcher, options: Dispatcher.RequestOptions, factory: Dispatcher.StreamFactory) => Promise<Dispatcher.StreamData>;
  export default stream;
}

declare module 'undici/lib/core/util.js' {
  const util: { parseHeaders(raw: Buffer[]): Record<string, string | string[] | undefined> };
  export default util;
}
