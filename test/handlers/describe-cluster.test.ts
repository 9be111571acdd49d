import { afterEach, describe, expect, it } from 'vitest';
import { readDescribeClusterResponse, writeDescribeClusterRequest } from '../../broker/protocol/generated/describe-cluster.js';
import { ErrorCode } from '../../broker/protocol/generated/error-codes.js';
import { CLUSTER_OPERATIONS } from '../../broker/handlers/describe-cluster.js';
import { openHarness, type Harness } from './admin-harness.js';

const API = 60;
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('DescribeCluster', () => {
  it('describes this broker as controller before it registers (v0)', async () => {
    h = await openHarness({ nodeId: 4, advertisedHost: '10.1.2.3', advertisedPort: 19999 });
    const res = await h.call(API, 0, writeDescribeClusterRequest, { includeClusterAuthorizedOperations: false }, readDescribeClusterResponse);
    expect(res).toMatchObject({ errorCode: ErrorCode.NONE, errorMessage: null, clusterId: h.broker.clusterId, controllerId: 4, clusterAuthorizedOperations: -2147483648 });
    expect(res.clusterId.length).toBeGreaterThan(0);
    expect(res.brokers).toEqual([{ brokerId: 4, host: '10.1.2.3', port: 19999, rack: null }]);
  });

  it('lists the live brokers of the control store and echoes the endpoint type (v1)', async () => {
    h = await openHarness({ nodeId: 0 });
    await h.broker.store.registerBroker({ nodeId: 0, host: '192.0.2.10', port: 9093, rack: 'r1' });
    const res = await h.call(API, 1, writeDescribeClusterRequest, { includeClusterAuthorizedOperations: true, endpointType: 1 }, readDescribeClusterResponse);
    expect(res.endpointType).toBe(1);
    expect(res.brokers).toEqual([{ brokerId: 0, host: '192.0.2.10', port: 9093, rack: 'r1' }]);
    expect(res.clusterAuthorizedOperations).toBe(CLUSTER_OPERATIONS);
    // DESCRIBE (8) and ALTER_CONFIGS (11) are among the allowed cluster operations.
    expect(res.clusterAuthorizedOperations & (1 << 8)).not.toBe(0);
    expect(res.clusterAuthorizedOperations & (1 << 11)).not.toBe(0);
  });

  it('refuses the controllers endpoint type', async () => {
    h = await openHarness();
    const res = await h.call(API, 1, writeDescribeClusterRequest, { endpointType: 2 }, readDescribeClusterResponse);
    expect(res.errorCode).toBe(ErrorCode.UNSUPPORTED_ENDPOINT_TYPE);
    expect(res.brokers).toEqual([]);
  });
});
