import { readListGroupsRequest, writeListGroupsResponse, type ListGroupsRequest, type ListGroupsResponse } from '../protocol/generated/list-groups.js';
import { defineHandler } from './types.js';

export default defineHandler<ListGroupsRequest, ListGroupsResponse>({
  apiKey: 16,
  minVersion: 0,
  maxVersion: 5,
  read: readListGroupsRequest,
  write: writeListGroupsResponse,
  handle(req, ctx) {
    const r = ctx.broker.groups.list(req.statesFilter, req.typesFilter);
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      groups: r.groups.map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.state, groupType: 'classic' })),
    };
  },
});
