// The APIs the CLI client uses, each tied to its generated request writer and response reader.
import type { Input } from '../../../broker/protocol/primitives/codec-helpers.js';
import type { Reader } from '../../../broker/protocol/primitives/reader.js';
import type { Writer } from '../../../broker/protocol/primitives/writer.js';
import * as produce from '../../../broker/protocol/generated/produce.js';
import * as fetch from '../../../broker/protocol/generated/fetch.js';
import * as listOffsets from '../../../broker/protocol/generated/list-offsets.js';
import * as metadata from '../../../broker/protocol/generated/metadata.js';
import * as createTopics from '../../../broker/protocol/generated/create-topics.js';
import * as deleteTopics from '../../../broker/protocol/generated/delete-topics.js';
import * as initProducerId from '../../../broker/protocol/generated/init-producer-id.js';
import * as describeConfigs from '../../../broker/protocol/generated/describe-configs.js';
import * as createPartitions from '../../../broker/protocol/generated/create-partitions.js';
import * as incrementalAlterConfigs from '../../../broker/protocol/generated/incremental-alter-configs.js';

export interface Api<Req, Res> {
  key: number;
  name: string;
  write(w: Writer, v: number, m: Input<Req>): void;
  read(r: Reader, v: number): Res;
}

function api<Req, Res>(key: number, name: string, write: Api<Req, Res>['write'], read: Api<Req, Res>['read']): Api<Req, Res> {
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
