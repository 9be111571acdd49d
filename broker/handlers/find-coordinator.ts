import { readFindCoordinatorRequest, writeFindCoordinatorResponse, type FindCoordinatorRequest, type FindCoordinatorResponse, type FindCoordinatorResponseCoordinator } from '../protocol/generated/find-coordinator.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { Input } from '../protocol/primitives/codec-helpers.js';
import { defineHandler, type RequestContext } from './types.js';

const GROUP_KEY = 0;
const TRANSACTION_KEY = 1;

type Coordinator = Input<FindCoordinatorResponseCoordinator> & { errorCode: number; errorMessage: string | null; nodeId: number; host: string; port: number };

function locate(ctx: RequestContext, key: string, keyType: number): Coordinator {
  const none = (errorCode: number, errorMessage: string): Coordinator => ({ key, nodeId: -1, host: '', port: -1, errorCode, errorMessage });
  if (keyType === TRANSACTION_KEY) return none(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'Transactions are not supported by this broker');
  if (keyType !== GROUP_KEY) return none(ErrorCode.INVALID_REQUEST, `Unsupported coordinator key type ${keyType}`);
  const node = ctx.broker.groups.ownership.coordinatorOf(key);
  if (!node) return none(ErrorCode.COORDINATOR_NOT_AVAILABLE, `No coordinator is available for group ${key}`);
  return { key, nodeId: node.nodeId, host: node.host, port: node.port, errorCode: ErrorCode.NONE, errorMessage: null };
}

export default defineHandler<FindCoordinatorRequest, FindCoordinatorResponse>({
  apiKey: 10,
  minVersion: 0,
  maxVersion: 5,
  read: readFindCoordinatorRequest,
  write: writeFindCoordinatorResponse,
  handle(req, ctx) {
    if (ctx.apiVersion >= 4) {
      return { throttleTimeMs: 0, coordinators: req.coordinatorKeys.map((k) => locate(ctx, k, req.keyType)) };
    }
    const c = locate(ctx, req.key, req.keyType);
    return { throttleTimeMs: 0, errorCode: c.errorCode, errorMessage: c.errorMessage, nodeId: c.nodeId, host: c.host, port: c.port };
  },
});
