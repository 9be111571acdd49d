// The high-watermark LISTEN connection survives losing its backend: after pg_terminate_backend
// it reconnects, hears later publications, and replays ones made while it was down.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionLeaseKey } from '../../broker/cluster/control-store.js';
import { parseHighWatermarkPayload } from '../../broker/cluster/hw-watcher.js';
import { PostgresControlStore } from '../../broker/cluster/postgres-store.js';
import { postgresAvailable, startPostgres, type PostgresHandle } from '../harness/postgres.js';
import { waitFor } from './fixture.js';

const enabled = postgresAvailable();
let server: PostgresHandle | undefined;
let store: PostgresControlStore | undefined;
let admin: pg.Client | undefined;

beforeAll(async () => {
  if (!enabled) return;
  server = await startPostgres();
  const url = await server.createDatabase('hwlisten');
  store = new PostgresControlStore({ url });
  await store.open();
  admin = new pg.Client({ connectionString: url });
  await admin.connect();
});

afterAll(async () => {
  await admin?.end().catch(() => {});
  await store?.close().catch(() => {});
  await server?.stop();
});

async function listenerPids(): Promise<number[]> {
  const r = await admin!.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE (application_name = 'floe-hw-listener' OR query = 'LISTEN floe_hw') AND datname = current_database()");
  return r.rows.map((x) => x.pid);
}

describe('payload', () => {
  it('parses epoch, high watermark and a key that contains spaces', () => {
    expect(parseHighWatermarkPayload('3 120 p/my topic/0')).toEqual({ key: 'p/my topic/0', epoch: 3, highWatermark: 120 });
    expect(parseHighWatermarkPayload('garbage')).toBeNull();
  });
});

describe.skipIf(!enabled)('high-watermark notifications', () => {
  it('reconnect after the listening backend is terminated, and replay what was published meanwhile', async () => {
    const s = store!;
    const heard: Array<{ key: string; epoch: number; hw: number }> = [];
    const errors: unknown[] = [];
    const unwatch = await s.watchHighWatermarks((key, epoch, hw) => heard.push({ key, epoch, hw }), (err) => errors.push(err));
    try {
      const key = partitionLeaseKey('t', 0);
      const lease = await s.acquireLease(key, 1, 60_000);
      expect(lease).not.toBeNull();
      expect(await s.publishHighWatermark(key, 1, lease!.epoch, 10)).toBe(true);
      await waitFor('the first notification', async () => (heard.some((h) => h.hw === 10) ? true : undefined));

      const [pid] = await listenerPids();
      expect(pid).toBeDefined();
      await admin!.query('SELECT pg_terminate_backend($1)', [pid]);
      // Published while the listener may still be down: delivered by notification or by the replay.
      expect(await s.publishHighWatermark(key, 1, lease!.epoch, 20)).toBe(true);
      await waitFor('a new listening backend', async () => {
        const pids = await listenerPids();
        return pids.length === 1 && pids[0] !== pid ? true : undefined;
      });
      await waitFor('the publication made around the drop', async () => (heard.some((h) => h.hw === 20) ? true : undefined));
      expect(await s.publishHighWatermark(key, 1, lease!.epoch, 30)).toBe(true);
      await waitFor('a notification on the new connection', async () => (heard.some((h) => h.hw === 30) ? true : undefined));
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      await unwatch();
    }
    // Stopped: no listener left behind, and none comes back.
    await waitFor('the listener to close', async () => ((await listenerPids()).length === 0 ? true : undefined));
  });
});
