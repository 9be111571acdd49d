import { readDescribeGroupsRequest, writeDescribeGroupsResponse, type DescribeGroupsRequest, type DescribeGroupsResponse } from '../protocol/generated/describe-groups.js';
import { defineHandler } from './types.js';

// Kafka ACL operation bits a group supports: READ(3), DELETE(6), DESCRIBE(8). No authorizer, so all.
const GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8);
const OPERATIONS_OMITTED = -2147483648;

export default defineHandler<DescribeGroupsRequest, DescribeGroupsResponse>({
  apiKey: 15,
  minVersion: 0,
  maxVersion: 5,
  read: readDescribeGroupsRequest,
  write: writeDescribeGroupsResponse,
  handle(req, ctx) {
    const ops = req.includeAuthorizedOperations ? GROUP_OPERATIONS : OPERATIONS_OMITTED;
    return {
      throttleTimeMs: 0,
      groups: ctx.broker.groups.describe(req.groups).map((g) => ({
        errorCode: g.errorCode,
        groupId: g.groupId,
        groupState: g.state,
        protocolType: g.protocolType,
        protocolData: g.protocolName,
        members: g.members.map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          memberMetadata: m.metadata,
          memberAssignment: m.assignment,
        })),
        authorizedOperations: ops,
      })),
    };
  },
});
