/** What the container image, compose file and Kubernetes manifests promise, read from the files. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, parseAllDocuments } from 'yaml';
import { SETTINGS } from '../src/settings.ts';

const test = suite('Dockerfile, compose file and Kubernetes manifests');
const root = new URL('../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');

/** Dockerfile instructions, continuation lines joined, comments dropped, split by stage. */
function stages(text: string): { from: string; instructions: { op: string; args: string }[] }[] {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const out: { from: string; instructions: { op: string; args: string }[] }[] = [];
  for (const line of lines) {
    const [op = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (op.toUpperCase() === 'FROM') out.push({ from: args, instructions: [] });
    else out.at(-1)!.instructions.push({ op: op.toUpperCase(), args });
  }
  return out;
}

test('Dockerfile: multi-stage, Node LTS alpine, the runtime stage holds only the bundle', () => {
  const all = stages(read('Dockerfile'));
  assert.ok(all.length >= 2, 'a build stage and a runtime stage');
  for (const stage of all) assert.match(stage.from, /^node:(\d*[02468])-alpine\b/, `an official Node LTS alpine image: ${stage.from}`);
  assert.match(
    all[0]!.instructions
      .filter((i) => i.op === 'RUN')
      .map((i) => i.args)
      .join('\n'),
    /npm run build/,
  );
  const runtime = all.at(-1)!;
  const copies = runtime.instructions.filter((i) => i.op === 'COPY' || i.op === 'ADD');
  assert.is(copies.length, 1, 'one file copied into the runtime stage');
  assert.match(copies[0]!.args, /--from=build\b.*\/dist\/openai-mcp-relay\.cjs\s+\/app\/openai-mcp-relay\.cjs$/);
  const runtimeText = runtime.instructions.map((i) => `${i.op} ${i.args}`).join('\n');
  assert.not.match(runtimeText, /node_modules|npm (ci|install)|apk add|COPY \S*\s*(src|scripts)\b/);
});

test('Dockerfile: non-root, port 8000, a curl-free healthcheck every 30 s with a 10 s timeout, exec-form entrypoint', () => {
  const runtime = stages(read('Dockerfile')).at(-1)!;
  const one = (op: string) => runtime.instructions.filter((i) => i.op === op).at(-1)?.args ?? '';
  assert.ok(one('USER') && !/^(root|0)(:|$)/.test(one('USER')), `USER ${one('USER')}`);
  assert.is(one('EXPOSE'), '8000');
  const health = one('HEALTHCHECK');
  assert.match(health, /--interval=30s/);
  assert.match(health, /--timeout=10s/);
  assert.match(health, /CMD \["node", "-e", .*\/health/);
  assert.not.match(health, /curl|wget/);
  assert.match(one('ENTRYPOINT'), /^\["node", "\/app\/openai-mcp-relay\.cjs"\]$/, 'exec form: node is PID 1 and gets SIGTERM');
});

test('Dockerfile: no secret or placeholder key baked in', () => {
  const text = read('Dockerfile');
  for (const instruction of stages(text)
    .flatMap((s) => s.instructions)
    .filter((i) => i.op === 'ENV' || i.op === 'ARG')) {
    assert.not.match(instruction.args, /(API_KEY|API_KEYS|SECRET|TOKEN|PASSWORD)\b/i, instruction.args);
  }
  assert.not.match(text, /sk-[A-Za-z0-9]/);
});

test('.dockerignore keeps the context to what the build needs', () => {
  const lines = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  assert.is(lines[0], '*', 'everything is ignored first');
  assert.equal(lines.slice(1).sort(), ['!package-lock.json', '!package.json', '!scripts/', '!src/', '!tsconfig.json']);
});

test('dockerfilelint passes', () => {
  const lint = spawnSync(
    process.execPath,
    [new URL('../node_modules/dockerfilelint/bin/dockerfilelint', import.meta.url).pathname, '--output', 'json', 'Dockerfile'],
    { cwd: root, encoding: 'utf8' },
  );
  assert.is(lint.status, 0, lint.stdout + lint.stderr);
  const report = JSON.parse(lint.stdout) as { totalIssues: number };
  assert.is(report.totalIssues, 0, lint.stdout);
});

test('docker-compose.yml: service, port, variables from the host, healthcheck, restart policy', () => {
  const compose = parse(read('docker-compose.yml')) as { services: Record<string, any> };
  const service = compose.services['openai-mcp-server'];
  assert.ok(service, 'service openai-mcp-server');
  assert.is(service.build, '.');
  assert.ok(service.ports.some((p: string) => /:8000$/.test(p)));
  assert.match(String(service.environment.OPENAI_API_KEY), /^\$\{OPENAI_API_KEY(:-)?\}$/);
  for (const setting of SETTINGS) {
    // Inside the container the server listens on 0.0.0.0:8000; the host port is mapped.
    if (['HOST', 'PORT'].includes(setting.env)) continue;
    assert.match(
      String(service.environment[setting.env]),
      new RegExp(`^\\$\\{${setting.env}(:-[^}]*)?\\}$`),
      `${setting.env} is passed from the host`,
    );
  }
  assert.is(service.healthcheck.interval, '30s');
  assert.is(service.healthcheck.timeout, '10s');
  assert.ok(!service.healthcheck.test.join(' ').match(/curl|wget/));
  assert.is(service.restart, 'unless-stopped');
});

test("the README's compose commands name the compose service", () => {
  const readme = read('README.md');
  for (const command of ['docker-compose up -d', 'docker-compose logs -f openai-mcp-server', 'docker-compose down']) {
    assert.ok(readme.includes(command), command);
  }
});

test('Kubernetes: 2 stateless replicas, probes on /health, resources, keys from a Secret, non-root; a Service; an HPA', () => {
  const docs = ['deployment.yaml', 'service.yaml', 'hpa.yaml'].flatMap((f) =>
    parseAllDocuments(read(`deploy/kubernetes/${f}`)).map((d) => d.toJS() as any),
  );
  const deployment = docs.find((d) => d.kind === 'Deployment');
  const service = docs.find((d) => d.kind === 'Service');
  const hpa = docs.find((d) => d.kind === 'HorizontalPodAutoscaler');
  assert.ok(deployment && service && hpa);
  assert.is(deployment.spec.replicas, 2);
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const env = Object.fromEntries(container.env.map((e: any) => [e.name, e]));
  assert.is(env.MCP_STATELESS.value, 'true');
  assert.ok(env.OPENAI_API_KEY.valueFrom.secretKeyRef.name, 'the upstream key comes from a Secret');
  assert.ok(env.MCP_API_KEYS.valueFrom.secretKeyRef.name, 'client keys come from a Secret');
  assert.ok(env.MCP_TASK_SECRET.valueFrom.secretKeyRef.name, 'replicas share the task secret, from a Secret');
  assert.not.ok(
    container.env.some((e: any) => /KEY/.test(e.name) && 'value' in e),
    'no key in plain text',
  );
  for (const probe of [container.readinessProbe, container.livenessProbe]) {
    assert.is(probe.httpGet.path, '/health');
  }
  assert.ok(container.resources.requests.cpu && container.resources.requests.memory);
  assert.ok(container.resources.limits.cpu && container.resources.limits.memory);
  assert.is(pod.securityContext.runAsNonRoot, true);
  assert.is(container.securityContext.allowPrivilegeEscalation, false);
  assert.is(container.securityContext.readOnlyRootFilesystem, true);
  assert.ok(pod.terminationGracePeriodSeconds * 1000 > Number(env.MCP_SHUTDOWN_GRACE_MS.value), 'Kubernetes waits for the drain');
  assert.equal(service.spec.selector, deployment.spec.selector.matchLabels);
  assert.is(service.spec.ports[0].targetPort, container.ports[0].name);
  assert.is(hpa.spec.scaleTargetRef.kind, 'Deployment');
  assert.is(hpa.spec.scaleTargetRef.name, deployment.metadata.name);
  assert.ok(hpa.spec.minReplicas >= 2 && hpa.spec.maxReplicas > hpa.spec.minReplicas);
});

test.run();
