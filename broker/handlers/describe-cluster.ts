import { readDescribeClusterRequest, writeDescribeClusterResponse, type DescribeClusterRequest, type DescribeClusterResponse, type DescribeClusterResponseDescribeClusterBroker } from '../protocol/generated/describe-cluster.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { Input } from '../protocol/primitives/codec-helpers.js';
import { defineHandler } from './types.js';

const ENDPOINT_BROKERS = 1;
const ENDPOINT_CONTROLLERS = 2;
const OPS_NOT_REQUESTED = -2147483648;

// Floe has no authorizer, so every operation Kafka defines on the CLUSTER resource is allowed:
// CREATE(5), ALTER(7), DESCRIBE(8), CLUSTER_ACTION(9), DESCRIBE_CONFIGS(10), ALTER_CONFIGS(11), IDEMPOTENT_WRITE(12).
export const CLUSTER_OPERATIONS = [5, 7, 8, 9, 10, 11, 12].reduce((bits, op) => bits | (1 << op), 0);

type BrokerEntry = Input<DescribeClusterResponseDescribeClusterBroker>;

export default defineHandler<DescribeClusterRequest, DescribeClusterResponse>({
  apiKey: 60,
  minVersion: 0,
  maxVersion: 1,
  read: readDescribeClusterRequest,
  write: writeDescribeClusterResponse,
  async handle(req, ctx) {
    const { broker } = ctx;
    const endpointType = ctx.apiVersion >= 1 ? req.endpointType : ENDPOINT_BROKERS;
    const base = {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      endpointType,
      clusterId: broker.clusterId,
      controllerId: broker.nodeId,
      brokers: [] as BrokerEntry[],
      clusterAuthorizedOperations: req.includeClusterAuthorizedOperations ? CLUSTER_OPERATIONS : OPS_NOT_REQUESTED,
    };
    if (endpointType === ENDPOINT_CONTROLLERS) {
      return { ...base, controllerId: -1, errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, errorMessage: 'Floe brokers do not expose separate controller endpoints; use bootstrap.servers.' };
    }
    if (endpointType !== ENDPOINT_BROKERS) {
      return { ...base, controllerId: -1, errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, errorMessage: `Unknown endpoint type ${endpointType}.` };
    }
    let live: BrokerEntry[] = [];
    try {
      live = (await broker.store.liveBrokers()).map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack }));
    } catch (err) {
      ctx.log.warn({ err }, 'cannot list live brokers; describing this broker only');
    }
    // This broker always answers, even before it has registered itself.
    if (!live.some((b) => b.brokerId === broker.nodeId)) {
      const { host, port } = broker.advertised;
      live.push({ brokerId: broker.nodeId, host, port, rack: null });
    }
    live.sort((a, b) => (a.brokerId ?? 0) - (b.brokerId ?? 0));
    return { ...base, brokers: live };
  },
});
