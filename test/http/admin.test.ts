// Admin routes over real HTTP against a real node: topics, configs, cluster, auth, probes, OpenAPI.
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestNode, type TestNode } from './helpers.js';

let n: TestNode;
beforeAll(async () => {
  n = await startTestNode();
});
afterAll(async () => {
  await n?.close();
});

describe('auth and probes', () => {
  test('probes need no token; everything else does', async () => {
    expect((await n.call('GET', '/healthz', undefined, { authorization: '' })).status).toBe(200);
    const ready = await n.call('GET', '/readyz', undefined, { authorization: '' });
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ broker_open: true, kafka_listener: true });
    const none = await n.call('GET', '/v1/topics', undefined, { authorization: '' });
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ error_code: 401, message: expect.stringContaining('Bearer') });
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    expect((await n.call('GET', '/v1/topics', undefined, { authorization: 'Bearer nope' })).status).toBe(401);
    expect((await n.call('GET', '/metrics', undefined, { authorization: 'Basic abc' })).status).toBe(401);
    expect((await n.call('GET', '/v1/topics')).status).toBe(200);
  });

  test('request id: echoed when given, generated otherwise', async () => {
    const given = await n.call('GET', '/healthz', undefined, { 'x-request-id': 'abc-123' });
    expect(given.headers.get('x-request-id')).toBe('abc-123');
    const gen = await n.call('GET', '/healthz', undefined, { 'x-request-id': 'bad id with spaces' });
    expect(gen.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('unknown route: 404 in the error shape', async () => {
    const r = await n.call('GET', '/v1/nope');
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ error_code: 404, message: expect.any(String) });
  });
});

describe('topics', () => {
  test('create, list, describe, alter configs, delete', async () => {
    const c = await n.call('POST', '/v1/topics', { name: 'adm-1', partitions: 4, configs: { 'retention.ms': '60000' } });
    expect(c.status).toBe(201);
    expect(c.body).toMatchObject({ name: 'adm-1', partitions: 4, replication_factor: 1, internal: false });
    expect(c.headers.get('location')).toBe('/v1/topics/adm-1');

    const list = await n.call('GET', '/v1/topics');
    expect(list.body.topics.map((t: { name: string }) => t.name)).toContain('adm-1');

    const d = await n.call('GET', '/v1/topics/adm-1');
    expect(d.status).toBe(200);
    expect(d.body.partition_details).toHaveLength(4);
    expect(d.body.partition_details[3]).toEqual({ partition: 3, leader: 0, leader_epoch: 0, replicas: [0], isr: [0], log_start_offset: 0, high_watermark: 0 });
    const retention = d.body.configs.find((x: { name: string }) => x.name === 'retention.ms');
    expect(retention).toMatchObject({ value: '60000', source: 'DYNAMIC_TOPIC_CONFIG' });

    const alt = await n.call('PATCH', '/v1/topics/adm-1/configs', { set: { 'cleanup.policy': 'compact' }, delete: ['retention.ms'] });
    expect(alt.status).toBe(200);
    const byName = new Map(alt.body.configs.map((x: { name: string }) => [x.name, x]));
    expect(byName.get('cleanup.policy')).toMatchObject({ value: 'compact', source: 'DYNAMIC_TOPIC_CONFIG' });
    expect(byName.get('retention.ms')).toMatchObject({ source: 'DEFAULT_CONFIG' });

    const one = await n.call('GET', '/v1/topics/adm-1/partitions/2');
    expect(one.body).toMatchObject({ partition: 2, leader: 0 });
    expect((await n.call('GET', '/v1/topics/adm-1/partitions/4')).status).toBe(404);

    expect((await n.call('DELETE', '/v1/topics/adm-1')).status).toBe(204);
    expect((await n.call('GET', '/v1/topics/adm-1')).status).toBe(404);
    expect((await n.call('DELETE', '/v1/topics/adm-1')).status).toBe(404);
  });

  test('bad input gets 400/404/409/422 with the error shape', async () => {
    const bad = async (method: string, path: string, body: unknown, status: number, code?: number | string) => {
      const r = await n.call(method, path, body);
      expect(r.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(status);
      expect(Object.keys(r.body).sort()).toEqual(['error_code', 'message']);
      if (code !== undefined) expect(r.body.error_code).toBe(code);
    };
    await bad('POST', '/v1/topics', { name: 'bad name!' }, 400);
    await bad('POST', '/v1/topics', { name: 'x', partitions: 0 }, 400);
    await bad('POST', '/v1/topics', { name: 'x', extra: 1 }, 400);
    await bad('POST', '/v1/topics', '{not json', 400);
    await bad('POST', '/v1/topics', { name: 'x', configs: { 'retention.ms': 'soon' } }, 422, 'INVALID_CONFIG');
    await bad('POST', '/v1/topics', { name: 'x', configs: { 'no.such.config': '1' } }, 422, 'INVALID_CONFIG');
    expect((await n.call('POST', '/v1/topics', { name: 'adm-dup' })).status).toBe(201);
    await bad('POST', '/v1/topics', { name: 'adm-dup' }, 409, 'TOPIC_ALREADY_EXISTS');
    await bad('PATCH', '/v1/topics/adm-dup/configs', {}, 400);
    await bad('PATCH', '/v1/topics/adm-dup/configs', { set: { 'min.insync.replicas': 'x' } }, 422, 'INVALID_CONFIG');
    await bad('PATCH', '/v1/topics/nope/configs', { set: { 'retention.ms': '1' } }, 404);
    await bad('GET', '/v1/topics/adm-dup/partitions/-1', undefined, 400);
    await bad('GET', '/v1/topics/nope', undefined, 404);
  });

  test('same answers as a Kafka client sees (metadata, offsets, configs)', async () => {
    await n.call('POST', '/v1/topics', { name: 'adm-kafka', partitions: 3 });
    await n.call('POST', '/v1/topics/adm-kafka/records', { records: [{ value: 1, partition: 0 }, { value: 2, partition: 0 }, { value: 3, partition: 2 }] });
    const kafka = new Kafka({ brokers: [n.bootstrap], clientId: 'http-admin-test', logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const md = await admin.fetchTopicMetadata({ topics: ['adm-kafka'] });
      const offsets = await admin.fetchTopicOffsets('adm-kafka');
      const http = (await n.call('GET', '/v1/topics/adm-kafka')).body;
      const mdParts = md.topics[0]!.partitions.sort((a, b) => a.partitionId - b.partitionId);
      expect(http.partition_details.map((p: { partition: number; leader: number; replicas: number[]; isr: number[] }) => [p.partition, p.leader, p.replicas, p.isr])).toEqual(
        mdParts.map((p) => [p.partitionId, p.leader, p.replicas, p.isr]),
      );
      expect(http.partition_details.map((p: { high_watermark: number; log_start_offset: number }) => [String(p.log_start_offset), String(p.high_watermark)])).toEqual(
        offsets.sort((a, b) => a.partition - b.partition).map((o) => [o.low, o.high]),
      );
      expect(http.partition_details.map((p: { high_watermark: number }) => p.high_watermark)).toEqual([2, 0, 1]);
      const cfg = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: 'adm-kafka' }] });
      const kafkaCfg = new Map(cfg.resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
      for (const c of http.configs as Array<{ name: string; value: string | null }>) expect(kafkaCfg.get(c.name), c.name).toBe(c.value);
      const cluster = await admin.describeCluster();
      const httpCluster = (await n.call('GET', '/v1/cluster')).body;
      expect(httpCluster.cluster_id).toBe(cluster.clusterId);
      expect(httpCluster.brokers.map((b: { node_id: number; port: number }) => [b.node_id, b.port])).toEqual(cluster.brokers.map((b) => [b.nodeId, b.port]));
    } finally {
      await admin.disconnect();
    }
  });

  test('cluster partitions and brokers', async () => {
    await n.call('POST', '/v1/topics', { name: 'adm-leaders', partitions: 2 });
    const r = await n.call('GET', '/v1/cluster/partitions');
    expect(r.body.partitions.filter((p: { topic: string }) => p.topic === 'adm-leaders')).toEqual([
      { topic: 'adm-leaders', partition: 0, leader: 0, leader_epoch: 0 },
      { topic: 'adm-leaders', partition: 1, leader: 0, leader_epoch: 0 },
    ]);
    const b = await n.call('GET', '/v1/brokers');
    expect(b.body.brokers).toEqual([{ node_id: 0, host: '127.0.0.1', port: n.node.kafka.port, rack: null }]);
  });
});

describe('openapi', () => {
  test('documents every route with its schemas', async () => {
    const r = await n.call('GET', '/openapi.json');
    expect(r.status).toBe(200);
    const doc = r.body;
    expect(doc.openapi).toBe('3.0.3');
    expect(doc.info.description).toContain('Limits');
    const paths = Object.keys(doc.paths);
    for (const p of ['/v1/topics', '/v1/topics/{topic}', '/v1/topics/{topic}/records', '/v1/topics/{topic}/partitions/{partition}/records', '/v1/topics/{topic}/stream', '/v1/groups/{group}', '/v1/consumers/{group}', '/metrics', '/healthz']) {
      expect(paths).toContain(p);
    }
    const produce = doc.paths['/v1/topics/{topic}/records'].post;
    expect(produce.requestBody.content['application/json'].schema.required).toEqual(['records']);
    expect(Object.keys(produce.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '404', '413']));
    const read = doc.paths['/v1/topics/{topic}/partitions/{partition}/records'].get;
    expect(read.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual(
      expect.arrayContaining(['path:topic', 'path:partition', 'query:offset', 'query:timestamp', 'query:max_bytes', 'query:limit', 'query:format']),
    );
    expect(doc.paths['/healthz'].get.security).toEqual([]);
    // 3.0 has no type arrays: nullable instead.
    expect(JSON.stringify(doc)).not.toContain('"type":["');
  });
});
