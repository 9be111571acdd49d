import { readLeaveGroupRequest, writeLeaveGroupResponse, type LeaveGroupRequest, type LeaveGroupResponse } from '../protocol/generated/leave-group.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { defineHandler } from './types.js';

export default defineHandler<LeaveGroupRequest, LeaveGroupResponse>({
  apiKey: 13,
  minVersion: 0,
  maxVersion: 5,
  read: readLeaveGroupRequest,
  write: writeLeaveGroupResponse,
  handle(req, ctx) {
    const v = ctx.apiVersion;
    // v0-2 name one member; v3+ a batch, possibly by group.instance.id.
    const leaving = v >= 3 ? req.members : [{ memberId: req.memberId, groupInstanceId: null, reason: null }];
    const r = ctx.broker.groups.leave(req.groupId, leaving);
    if (v >= 3) return { throttleTimeMs: 0, errorCode: r.errorCode, members: r.members };
    const errorCode = r.errorCode !== ErrorCode.NONE ? r.errorCode : (r.members[0]?.errorCode ?? ErrorCode.NONE);
    return { throttleTimeMs: 0, errorCode, members: [] };
  },
});
