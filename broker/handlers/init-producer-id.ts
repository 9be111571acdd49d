import { readInitProducerIdRequest, writeInitProducerIdResponse, type InitProducerIdRequest, type InitProducerIdResponse } from '../protocol/generated/init-producer-id.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { defineHandler } from './types.js';

const MAX_EPOCH = 32767;

export default defineHandler<InitProducerIdRequest, InitProducerIdResponse>({
  apiKey: 22,
  minVersion: 0,
  maxVersion: 5,
  read: readInitProducerIdRequest,
  write: writeInitProducerIdResponse,
  async handle(req, ctx) {
    if (req.transactionalId !== null) {
      // No transaction coordinator: fail fast and clearly rather than let the client retry forever.
      return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, producerId: -1, producerEpoch: -1 };
    }
    // KIP-360: an idempotent producer may ask to bump its epoch after a fatal sequence error.
    if (req.producerId >= 0 && req.producerEpoch >= 0 && req.producerEpoch < MAX_EPOCH - 1) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: req.producerId, producerEpoch: req.producerEpoch + 1 };
    }
    const producerId = await ctx.broker.producerIds.allocate();
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 };
  },
});
