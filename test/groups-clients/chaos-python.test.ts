// Membership churn with python members; see chaos.ts for what is checked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../harness/broker.js';
import { pythonClientAvailable, requireTool } from '../harness/tools.js';
import { runChaos } from './chaos.js';

const run = requireTool('python', pythonClientAvailable);

describe.skipIf(!run)('python consumer group under churn', () => {
  let broker: BrokerHandle;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('join, crash and leave keep one owner per partition and lose nothing', { timeout: 170_000 }, async () => {
    const r = await runChaos('python', broker.bootstrap);
    console.log('python churn:', JSON.stringify(r));
    expect(r.rebalancesChecked).toBe(4);
    expect(r.produced).toBeGreaterThan(0);
    expect(r.processed).toBeGreaterThanOrEqual(r.produced);
  });

  it('the same with the cooperative-sticky assignor', { timeout: 170_000 }, async () => {
    const r = await runChaos('python', broker.bootstrap, { assignor: 'cooperative-sticky' }, '-coop');
    console.log('python cooperative churn:', JSON.stringify(r));
    expect(r.rebalancesChecked).toBe(4);
    expect(r.processed).toBeGreaterThanOrEqual(r.produced);
  });
});
