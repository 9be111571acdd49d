// The function runtime inside a real node: retries and DLQ, time and memory limits, versions,
// pause/resume, two group members splitting partitions, built-ins and the LLM path.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startTestNode, type TestNode } from '../http/helpers.js';
import { FunctionRuntime, runtimeFor } from '../../stream-functions/runtime.js';
import { header, moduleCode, produce, readAll, waitFor } from './helpers.js';

let n: TestNode;
let rt: FunctionRuntime;

beforeAll(async () => {
  n = await startTestNode();
  rt = runtimeFor(n.node.broker)!;
});

afterAll(async () => {
  await n?.close();
});

async function topic(name: string, partitions = 1): Promise<void> {
  await n.node.broker.topics.create({ name, partitions, replicationFactor: -1, configs: {} });
}

const values = async (t: string): Promise<string[]> => (await readAll(n.node.broker, t)).map((r) => r.value!.toString());

describe('stream function runtime', () => {
  it('retries a throwing record, then dead-letters it with the error and its source position', async () => {
    await topic('boom-in');
    await rt.deploy({
      name: 'boom',
      code: moduleCode(`export default { name: 'boom', process(r, ctx) { if (r.text().startsWith('bad')) throw new Error('cannot handle ' + r.text()); ctx.emit(undefined, { key: r.key, value: 'ok:' + r.text() }); } };`),
      inputs: ['boom-in'],
      outputs: ['boom-out'],
      limits: { maxAttempts: 3, backoffMs: 5 },
    });
    await produce(n.node.broker, 'boom-in', [{ value: 'a' }, { key: 'k1', value: 'bad-1' }, { value: 'b' }]);
    const dlq = await waitFor('a dead letter', async () => {
      const r = await readAll(n.node.broker, 'boom.dlq');
      return r.length >= 1 ? r : undefined;
    });
    expect(dlq).toHaveLength(1);
    const d = dlq[0]!;
    expect(d.value!.toString()).toBe('bad-1');
    expect(d.key!.toString()).toBe('k1');
    expect(header(d, 'floe.error')).toBe('cannot handle bad-1');
    expect(header(d, 'floe.attempts')).toBe('3');
    expect(header(d, 'floe.source.topic')).toBe('boom-in');
    expect(header(d, 'floe.source.partition')).toBe('0');
    expect(header(d, 'floe.source.offset')).toBe('1');
    expect(header(d, 'floe.function')).toBe('boom@v1');
    await waitFor('outputs', async () => (await values('boom-out')).length === 2);
    expect(await values('boom-out')).toEqual(['ok:a', 'ok:b']);
    const st = rt.status('boom');
    expect(st.totals.deadLettered).toBe(1);
    expect(st.totals.errors).toBeGreaterThanOrEqual(3);
    expect(rt.logs('boom').lines.some((l) => l.msg.includes('sent to boom.dlq'))).toBe(true);
  });

  it('terminates a worker stuck in an endless loop and keeps going', async () => {
    await topic('hang-in');
    await rt.deploy({
      name: 'hang',
      code: moduleCode(`export default { name: 'hang', process(r, ctx) { if (r.text() === 'hang') { for (;;) {} } ctx.emit(undefined, { value: 'done:' + r.text() }); } };`),
      inputs: ['hang-in'],
      outputs: ['hang-out'],
      limits: { maxAttempts: 2, backoffMs: 5, recordTimeoutMs: 300, startupTimeoutMs: 5_000 },
    });
    await produce(n.node.broker, 'hang-in', [{ value: 'x' }, { value: 'hang' }, { value: 'y' }]);
    await waitFor('outputs after the hang', async () => (await values('hang-out')).length === 2, 45_000);
    expect(await values('hang-out')).toEqual(['done:x', 'done:y']);
    const dlq = await readAll(n.node.broker, 'hang.dlq');
    expect(dlq).toHaveLength(1);
    expect(header(dlq[0]!, 'floe.error.type')).toBe('timeout');
    expect(header(dlq[0]!, 'floe.error')).toMatch(/timed out/);
  });

  it('a function that leaks memory past its limit is dead-lettered, the node stays up', async () => {
    await topic('leak-in');
    await rt.deploy({
      name: 'leak',
      code: moduleCode(`const keep = []; export default { name: 'leak', process(r, ctx) { if (r.text() === 'leak') { for (;;) keep.push(new Array(1e5).fill(Math.random())); } ctx.emit(undefined, { value: r.text() }); } };`),
      inputs: ['leak-in'],
      outputs: ['leak-out'],
      limits: { maxAttempts: 1, memoryMb: 48, recordTimeoutMs: 20_000, startupTimeoutMs: 15_000 },
    });
    await produce(n.node.broker, 'leak-in', [{ value: 'leak' }, { value: 'fine' }]);
    await waitFor('output after the leak', async () => (await values('leak-out')).length === 1, 45_000);
    const dlq = await readAll(n.node.broker, 'leak.dlq');
    expect(dlq).toHaveLength(1);
    expect(header(dlq[0]!, 'floe.error')).toMatch(/memory/i);
    expect((await n.call('GET', '/v1/functions')).status).toBe(200);
  });

  it('redeploy resumes from committed offsets; pause, resume and rollback', async () => {
    await topic('ver-in');
    const code = (tag: string) => moduleCode(`export default { name: 'ver', process(r, ctx) { ctx.emit(undefined, { value: '${tag}:' + r.text() }); } };`);
    await rt.deploy({ name: 'ver', code: code('v1'), inputs: ['ver-in'], outputs: ['ver-out'] });
    await produce(n.node.broker, 'ver-in', [{ value: 'a' }, { value: 'b' }]);
    await waitFor('v1 outputs', async () => (await values('ver-out')).length === 2);
    const v2 = await rt.deploy({ name: 'ver', code: code('v2'), inputs: ['ver-in'], outputs: ['ver-out'] });
    expect(v2.version).toBe(2);
    await produce(n.node.broker, 'ver-in', [{ value: 'c' }]);
    await waitFor('v2 output', async () => (await values('ver-out')).length === 3);
    expect(await values('ver-out')).toEqual(['v1:a', 'v1:b', 'v2:c']);

    expect((await rt.pause('ver')).state).toBe('paused');
    await produce(n.node.broker, 'ver-in', [{ value: 'd' }]);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await values('ver-out')).toHaveLength(3);
    await rt.resume('ver');
    await waitFor('output after resume', async () => (await values('ver-out')).length === 4);

    const back = await rt.rollback('ver', 1);
    expect(back.version).toBe(1);
    expect(back.versions).toEqual([1, 2]);
    await produce(n.node.broker, 'ver-in', [{ value: 'e' }]);
    await waitFor('output after rollback', async () => (await values('ver-out')).length === 5);
    expect(await values('ver-out')).toEqual(['v1:a', 'v1:b', 'v2:c', 'v2:d', 'v1:e']);
    await expect(rt.rollback('ver', 7)).rejects.toThrow(/no version 7/);
  });

  it('refuses a deploy whose init() fails and keeps the running version', async () => {
    await topic('bad-init-in');
    await rt.deploy({ name: 'badinit', code: moduleCode(`export default { name: 'badinit', process() {} };`), inputs: ['bad-init-in'] });
    await expect(
      rt.deploy({ name: 'badinit', code: moduleCode(`export default { name: 'badinit', init() { throw new Error('no config'); }, process() {} };`), inputs: ['bad-init-in'] }),
    ).rejects.toThrow(/no config/);
    const s = rt.status('badinit');
    expect(s.version).toBe(1);
    expect(s.state).toBe('running');
    await expect(rt.deploy({ name: 'slowinit', code: moduleCode(`export default { name: 's', init() { for (;;) {} }, process() {} };`), inputs: ['bad-init-in'], limits: { startupTimeoutMs: 500 } })).rejects.toThrow(/timed out/);
  });

  it('two runtimes in one node are two group members and split the partitions', async () => {
    await topic('people-in', 4);
    await rt.deploy({ name: 'people', builtin: 'materialize', inputs: ['people-in'], table: 'people', vars: { key: 'id', columns: 'name:string,age:int' } });
    const other = new FunctionRuntime({
      broker: n.node.broker,
      log: pino({ level: 'silent' }),
      clientId: 'second-runtime',
      refreshMs: 0,
      tables: { get: (t) => n.node.tables.table(t), create: async (s) => n.node.tables.table((await n.node.tables.create(s)).schema.name) },
    });
    try {
      await other.start({ register: false, wait: true });
      const split = await waitFor('both members assigned', () => {
        const a = rt.instance('people')?.assignedPartitions() ?? [];
        const b = other.instance('people')?.assignedPartitions() ?? [];
        return a.length > 0 && b.length > 0 && a.length + b.length === 4 ? { a, b } : undefined;
      });
      expect(new Set([...split.a, ...split.b]).size).toBe(4);
      const events = Array.from({ length: 40 }, (_, i) => ({ value: { id: `p${i}`, name: `person ${i}`, age: 20 + i } }));
      await produce(n.node.broker, 'people-in', events);
      const table = await n.node.tables.table('people');
      await waitFor('all rows', () => table.stats().rows === 40);
      const processedA = rt.status('people').totals.processed;
      const processedB = other.status('people').totals.processed;
      expect(processedA).toBeGreaterThan(0);
      expect(processedB).toBeGreaterThan(0);
      expect(processedA + processedB).toBe(40);
      expect(await table.get('p7')).toMatchObject({ id: 'p7', name: 'person 7', age: 27 });
    } finally {
      await other.close();
    }
  });

  it('embed + reason: watch-list similarity and rule alerts, with the LLM asked over the OpenAI chat format', async () => {
    const requests: Array<{ url: string; body: { model: string; messages: Array<{ role: string; content: string }> } }> = [];
    const server: Server = createServer((req, res) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += c.toString()));
      req.on('end', () => {
        requests.push({ url: req.url ?? '', body: JSON.parse(data) });
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'yes - looks like the watch-list entry' }, finish_reason: 'stop' }] }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      await topic('watch-in');
      await topic('cam-in', 2);
      await rt.deploy({ name: 'watch', builtin: 'embed', inputs: ['watch-in'], table: 'watch', vars: { field: 'text', key: 'id' } });
      await produce(n.node.broker, 'watch-in', [{ value: { id: 'w1', text: 'person climbing over the fence with a ladder' } }]);
      const watch = await n.node.tables.table('watch');
      await waitFor('watch-list row', () => watch.stats().rows === 1);

      await rt.deploy({ name: 'scenes', builtin: 'embed', inputs: ['cam-in'], table: 'scenes', vars: { field: 'description', key: 'id' } });
      await rt.deploy({
        name: 'alerts',
        builtin: 'reason',
        inputs: ['cam-in'],
        outputs: ['alerts'],
        vars: {
          text_field: 'description',
          watchlist: 'watch',
          threshold: '0.6',
          rules: JSON.stringify([{ name: 'late', field: 'hour', op: '>=', value: 22 }]),
          llm_url: `http://127.0.0.1:${port}`,
          llm_model: 'test-model',
        },
      });
      await produce(n.node.broker, 'cam-in', [
        { key: 'c1', value: { id: 'e1', hour: 14, description: 'a person climbing over the fence with a ladder' } },
        { key: 'c2', value: { id: 'e2', hour: 23, description: 'a cat sleeping on the porch' } },
        { key: 'c3', value: { id: 'e3', hour: 10, description: 'delivery van parked in the driveway' } },
      ]);
      const alerts = await waitFor('two alerts', async () => {
        const a = await readAll(n.node.broker, 'alerts');
        return a.length >= 2 ? a : undefined;
      });
      await new Promise((r) => setTimeout(r, 500));
      const parsed = (await readAll(n.node.broker, 'alerts')).map((r) => JSON.parse(r.value!.toString()) as { alert: string; name: string; event: { id: string }; evidence: { matches?: Array<{ key: string; score: number }> }; analysis?: string });
      expect(parsed).toHaveLength(2);
      const sim = parsed.find((a) => a.alert === 'watchlist')!;
      expect(sim.event.id).toBe('e1');
      expect(sim.evidence.matches![0]!.key).toBe('w1');
      expect(sim.evidence.matches![0]!.score).toBeGreaterThanOrEqual(0.6);
      expect(sim.analysis).toMatch(/^yes/);
      const rule = parsed.find((a) => a.alert === 'rule')!;
      expect(rule.name).toBe('late');
      expect(rule.event.id).toBe('e2');
      expect(alerts.length).toBe(2);
      expect(requests.length).toBe(2);
      expect(requests[0]!.url).toBe('/v1/chat/completions');
      expect(requests[0]!.body.model).toBe('test-model');
      expect(requests.some((q) => q.body.messages[1]!.content.includes('ladder'))).toBe(true);

      const scenes = await n.node.tables.table('scenes');
      await waitFor('scene rows', () => scenes.stats().rows === 3);
      const hits = await scenes.search({ text: 'ladder fence', k: 1 });
      expect(hits[0]!.key).toBe('e1');
    } finally {
      server.close();
    }
  });

  it('serves list, status, logs and errors over HTTP', async () => {
    const list = await n.call('GET', '/v1/functions');
    expect(list.status).toBe(200);
    expect(list.body.functions.map((f: { name: string }) => f.name)).toContain('boom');
    const st = await n.call('GET', '/v1/functions/boom');
    expect(st.status).toBe(200);
    expect(st.body.partitions[0]).toMatchObject({ topic: 'boom-in', partition: 0, position: 3, lag: 0 });
    const logs = await n.call('GET', '/v1/functions/boom/logs?after=0');
    expect(logs.body.lines.length).toBeGreaterThan(0);
    expect((await n.call('GET', '/v1/functions/nope')).status).toBe(404);
    expect((await n.call('POST', '/v1/functions', { name: 'x', inputs: ['a'], builtin: 'nope' })).status).toBe(400);
    expect((await n.call('DELETE', '/v1/functions/boom')).status).toBe(204);
    expect((await n.call('GET', '/v1/functions/boom')).status).toBe(404);
  });
});
