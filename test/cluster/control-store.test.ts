import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { LocalControlStore } from '../../broker/cluster/local-store.js';
import { PostgresControlStore } from '../../broker/cluster/postgres-store.js';
import { startPostgres, type PostgresHandle } from '../harness/postgres.js';
import { controlStoreContract } from './control-store.contract.js';

controlStoreContract('local', () => {
  let dir = '';
  return {
    async create() {
      dir = mkdtempSync(path.join(os.tmpdir(), 'floe-cs-'));
      const s = new LocalControlStore(dir);
      await s.open();
      return s;
    },
    reopen: () => new LocalControlStore(dir),
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

let pg: PostgresHandle;
let dbCount = 0;
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.stop();
});

controlStoreContract('postgres', () => {
  let url = '';
  return {
    async create() {
      url = await pg.createDatabase(`contract_${process.pid}_${++dbCount}`);
      const s = new PostgresControlStore({ url });
      await s.open();
      return s;
    },
    reopen: () => new PostgresControlStore({ url }),
    async cleanup() {},
  };
});
