// The APIs the CLI client uses, each tied to its generated request writer and response reader.
import type { Input } from '../protocol/primitives/codec-helpers.js';
import type { Reader } from '../protocol/primitives/reader.js';
import type { Writer } from '../protocol/primitives/writer.js';
import * as produce from '../protocol/generated/produce.js';
import * as fetch from '../protocol/generated/fetch.js';
import * as listOffsets from '../protocol/generated/list-offsets.js';
import * as metadata from '../protocol/generated/metadata.js';
import * as createTopics from '../protocol/generated/create-topics.js';
import * as deleteTopics from '../protocol/generated/delete-topics.js';
import * as initProducerId from '../protocol/generated/init-producer-id.js';
import * as describeConfigs from '../protocol/generated/describe-configs.js';
import * as createPartitions from '../protocol/generated/create-partitions.js';
import * as incrementalAlterConfigs from '../protocol/generated/incremental-alter-configs.js';
import * as offsetCommit from '../protocol/generated/offset-commit.js';
import * as offsetFetch from '../protocol/generated/offset-fetch.js';
import * as findCoordinator from '../protocol/generated/find-coordinator.js';
import * as describeGroups from '../protocol/generated/describe-groups.js';
import * as listGroups from '../protocol/generated/list-groups.js';
import * as deleteGroups from '../protocol/generated/delete-groups.js';

export interface Api<Req, Res> {
  key: number;
  name: string;
  write(w: Writer, v: number, m: Input<Req>): void;
  read(r: Reader, v: number): Res;
}

export function api<Req, Res>(key: number, name: string, write: Api<Req, Res>['write'], read: Api<Req, Res>['read']): Api<Req, Res> {
  return { key, name, write, read };
}

export const Produce = api(0, 'Produce', produce.writeProduceRequest, produce.readProduceResponse);
export const Fetch = api(1, 'Fetch', fetch.writeFetchRequest, fetch.readFetchResponse);
export const ListOffsets = api(2, 'ListOffsets', listOffsets.writeListOffsetsRequest, listOffsets.readListOffsetsResponse);
export const Metadata = api(3, 'Metadata', metadata.writeMetadataRequest, metadata.readMetadataResponse);
export const CreateTopics = api(19, 'CreateTopics', createTopics.writeCreateTopicsRequest, createTopics.readCreateTopicsResponse);
export const DeleteTopics = api(20, 'DeleteTopics', deleteTopics.writeDeleteTopicsRequest, deleteTopics.readDeleteTopicsResponse);
export const InitProducerId = api(22, 'InitProducerId', initProducerId.writeInitProducerIdRequest, initProducerId.readInitProducerIdResponse);
export const DescribeConfigs = api(32, 'DescribeConfigs', describeConfigs.writeDescribeConfigsRequest, describeConfigs.readDescribeConfigsResponse);
export const CreatePartitions = api(37, 'CreatePartitions', createPartitions.writeCreatePartitionsRequest, createPartitions.readCreatePartitionsResponse);
export const IncrementalAlterConfigs = api(
  44,
  'IncrementalAlterConfigs',
  incrementalAlterConfigs.writeIncrementalAlterConfigsRequest,
  incrementalAlterConfigs.readIncrementalAlterConfigsResponse,
);
export const OffsetCommit = api(8, 'OffsetCommit', offsetCommit.writeOffsetCommitRequest, offsetCommit.readOffsetCommitResponse);
export const OffsetFetch = api(9, 'OffsetFetch', offsetFetch.writeOffsetFetchRequest, offsetFetch.readOffsetFetchResponse);
export const FindCoordinator = api(10, 'FindCoordinator', findCoordinator.writeFindCoordinatorRequest, findCoordinator.readFindCoordinatorResponse);
export const DescribeGroups = api(15, 'DescribeGroups', describeGroups.writeDescribeGroupsRequest, describeGroups.readDescribeGroupsResponse);
export const ListGroups = api(16, 'ListGroups', listGroups.writeListGroupsRequest, listGroups.readListGroupsResponse);
export const DeleteGroups = api(42, 'DeleteGroups', deleteGroups.writeDeleteGroupsRequest, deleteGroups.readDeleteGroupsResponse);
