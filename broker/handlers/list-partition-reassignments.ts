// ListPartitionReassignments: a lease moves in one step (no data is copied), so no reassignment
// is ever in progress.
import { readListPartitionReassignmentsRequest, writeListPartitionReassignmentsResponse, type ListPartitionReassignmentsRequest, type ListPartitionReassignmentsResponse } from '../protocol/generated/list-partition-reassignments.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { defineHandler } from './types.js';

export default defineHandler<ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse>({
  apiKey: 46,
  minVersion: 0,
  maxVersion: 0,
  read: readListPartitionReassignmentsRequest,
  write: writeListPartitionReassignmentsResponse,
  handle() {
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, topics: [] };
  },
});
