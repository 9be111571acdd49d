// Every Kafka API Floe serves. ApiVersions advertises exactly this list.
import type { ApiHandler } from './types.js';
import apiVersions from './api-versions.js';
import metadata from './metadata.js';
import produce from './produce.js';
import fetch from './fetch.js';
import listOffsets from './list-offsets.js';
import createTopics from './create-topics.js';
import initProducerId from './init-producer-id.js';
import deleteTopics from './delete-topics.js';
import deleteRecords from './delete-records.js';
import offsetForLeaderEpoch from './offset-for-leader-epoch.js';
import describeConfigs from './describe-configs.js';
import alterConfigs from './alter-configs.js';
import createPartitions from './create-partitions.js';
import incrementalAlterConfigs from './incremental-alter-configs.js';
import describeCluster from './describe-cluster.js';
import describeProducers from './describe-producers.js';
import findCoordinator from './find-coordinator.js';
import joinGroup from './join-group.js';
import syncGroup from './sync-group.js';
import heartbeat from './heartbeat.js';
import leaveGroup from './leave-group.js';
import offsetCommit from './offset-commit.js';
import offsetFetch from './offset-fetch.js';
import describeGroups from './describe-groups.js';
import listGroups from './list-groups.js';
import deleteGroups from './delete-groups.js';
import offsetDelete from './offset-delete.js';
import describeTopicPartitions from './describe-topic-partitions.js';
import describeLogDirs from './describe-log-dirs.js';
import electLeaders from './elect-leaders.js';
import alterPartitionReassignments from './alter-partition-reassignments.js';
import listPartitionReassignments from './list-partition-reassignments.js';

export const HANDLERS: ApiHandler<any, any>[] = [apiVersions, metadata, produce, fetch, listOffsets, createTopics, initProducerId, deleteTopics, deleteRecords, offsetForLeaderEpoch, describeConfigs, alterConfigs, createPartitions, incrementalAlterConfigs, describeCluster, describeProducers, findCoordinator, joinGroup, syncGroup, heartbeat, leaveGroup, offsetCommit, offsetFetch, describeGroups, listGroups, deleteGroups, offsetDelete, describeTopicPartitions, describeLogDirs, electLeaders, alterPartitionReassignments, listPartitionReassignments];
// Not served: DescribeQuorum (55). Floe has no KRaft quorum; like a ZooKeeper-mode Kafka broker it
// does not advertise the API, so Admin.describeMetadataQuorum fails with UnsupportedVersionException.

export function supportedApis(): Array<{ apiKey: number; minVersion: number; maxVersion: number }> {
  return HANDLERS.map((h) => ({ apiKey: h.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion })).sort((a, b) => a.apiKey - b.apiKey);
}
