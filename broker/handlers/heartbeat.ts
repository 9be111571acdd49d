import { readHeartbeatRequest, writeHeartbeatResponse, type HeartbeatRequest, type HeartbeatResponse } from '../protocol/generated/heartbeat.js';
import { defineHandler } from './types.js';

export default defineHandler<HeartbeatRequest, HeartbeatResponse>({
  apiKey: 12,
  minVersion: 0,
  maxVersion: 4,
  read: readHeartbeatRequest,
  write: writeHeartbeatResponse,
  handle(req, ctx) {
    const errorCode = ctx.broker.groups.heartbeat({ groupId: req.groupId, generationId: req.generationId, memberId: req.memberId, groupInstanceId: req.groupInstanceId });
    return { throttleTimeMs: 0, errorCode };
  },
});
