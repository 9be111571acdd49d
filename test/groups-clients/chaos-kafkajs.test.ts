// Membership churn with kafkajs members; see chaos.ts for what is checked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../harness/broker.js';
import { runChaos } from './chaos.js';

describe('kafkajs consumer group under churn', () => {
  let broker: BrokerHandle;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('join, crash and leave keep one owner per partition and lose nothing', { timeout: 170_000 }, async () => {
    const r = await runChaos('kafkajs', broker.bootstrap);
    console.log('kafkajs churn:', JSON.stringify(r));
    expect(r.rebalancesChecked).toBe(4);
    expect(r.produced).toBeGreaterThan(0);
    expect(r.processed).toBeGreaterThanOrEqual(r.produced);
  });
});
