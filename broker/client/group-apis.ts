// The classic group-membership APIs (a consumer-group member needs them; the CLI's admin
// commands do not), tied to their generated codecs like apis.ts.
import * as joinGroup from '../protocol/generated/join-group.js';
import * as syncGroup from '../protocol/generated/sync-group.js';
import * as heartbeat from '../protocol/generated/heartbeat.js';
import * as leaveGroup from '../protocol/generated/leave-group.js';
import type { Api } from './apis.js';

export const JoinGroup: Api<joinGroup.JoinGroupRequest, joinGroup.JoinGroupResponse> = {
  key: 11,
  name: 'JoinGroup',
  write: joinGroup.writeJoinGroupRequest,
  read: joinGroup.readJoinGroupResponse,
};
export const Heartbeat: Api<heartbeat.HeartbeatRequest, heartbeat.HeartbeatResponse> = {
  key: 12,
  name: 'Heartbeat',
  write: heartbeat.writeHeartbeatRequest,
  read: heartbeat.readHeartbeatResponse,
};
export const LeaveGroup: Api<leaveGroup.LeaveGroupRequest, leaveGroup.LeaveGroupResponse> = {
  key: 13,
  name: 'LeaveGroup',
  write: leaveGroup.writeLeaveGroupRequest,
  read: leaveGroup.readLeaveGroupResponse,
};
export const SyncGroup: Api<syncGroup.SyncGroupRequest, syncGroup.SyncGroupResponse> = {
  key: 14,
  name: 'SyncGroup',
  write: syncGroup.writeSyncGroupRequest,
  read: syncGroup.readSyncGroupResponse,
};
