// The classic group-membership APIs (a consumer-group member needs them; the CLI's admin
// commands do not), tied to their generated codecs like apis.ts.
import * as joinGroup from '../protocol/generated/join-group.js';
import * as syncGroup from '../protocol/generated/sync-group.js';
import * as heartbeat from '../protocol/generated/heartbeat.js';
import * as leaveGroup from '../protocol/generated/leave-group.js';
import { api } from './apis.js';

export const JoinGroup = api(11, 'JoinGroup', joinGroup.writeJoinGroupRequest, joinGroup.readJoinGroupResponse);
export const Heartbeat = api(12, 'Heartbeat', heartbeat.writeHeartbeatRequest, heartbeat.readHeartbeatResponse);
export const LeaveGroup = api(13, 'LeaveGroup', leaveGroup.writeLeaveGroupRequest, leaveGroup.readLeaveGroupResponse);
export const SyncGroup = api(14, 'SyncGroup', syncGroup.writeSyncGroupRequest, syncGroup.readSyncGroupResponse);
