// Membership churn with java members; see chaos.ts for what is checked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../harness/broker.js';
import { javaClientAvailable, requireTool } from '../harness/tools.js';
import { runChaos } from './chaos.js';

const run = requireTool('java', javaClientAvailable);

describe.skipIf(!run)('java consumer group under churn', () => {
  let broker: BrokerHandle;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('join, crash and leave keep one owner per partition and lose nothing', { timeout: 170_000 }, async () => {
    const r = await runChaos('java', broker.bootstrap);
    console.log('java churn:', JSON.stringify(r));
    expect(r.rebalancesChecked).toBe(4);
    expect(r.produced).toBeGreaterThan(0);
    expect(r.processed).toBeGreaterThanOrEqual(r.produced);
  });

  it('the same with the cooperative-sticky assignor', { timeout: 170_000 }, async () => {
    const r = await runChaos('java', broker.bootstrap, { assignor: 'cooperative-sticky' }, '-coop');
    console.log('java cooperative churn:', JSON.stringify(r));
    expect(r.rebalancesChecked).toBe(4);
    expect(r.processed).toBeGreaterThanOrEqual(r.produced);
  });
});
