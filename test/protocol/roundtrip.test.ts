// Encodes and decodes messages in every served version; checks byte-exact re-encoding and that
// version-specific fields survive exactly where the spec says they exist.
import { describe, expect, it } from 'vitest';
import { Reader, ProtocolError } from '../../broker/protocol/primitives/reader.js';
import { Writer } from '../../broker/protocol/primitives/writer.js';
import * as produce from '../../broker/protocol/generated/produce.js';
import * as fetch from '../../broker/protocol/generated/fetch.js';
import * as metadata from '../../broker/protocol/generated/metadata.js';
import * as apiVersions from '../../broker/protocol/generated/api-versions.js';
import * as header from '../../broker/protocol/generated/request-header.js';
import { readHeader } from '../../broker/protocol/frame.js';

function roundtrip<T>(write: (w: Writer, v: number, m: any) => void, read: (r: Reader, v: number) => T, v: number, msg: any): { decoded: T; bytes: Buffer } {
  const w = new Writer();
  write(w, v, msg);
  const bytes = w.toBuffer();
  const r = new Reader(bytes);
  const decoded = read(r, v);
  expect(r.remaining).toBe(0);
  const w2 = new Writer();
  write(w2, v, decoded);
  expect(w2.toBuffer().equals(bytes)).toBe(true);
  return { decoded, bytes };
}

describe('generated codecs', () => {
  it('round-trips Produce requests in v3..v11 with records by reference', () => {
    const records = Buffer.alloc(10_000, 7);
    for (let v = 3; v <= 11; v++) {
      const { decoded } = roundtrip(produce.writeProduceRequest, produce.readProduceRequest, v, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 30000,
        topicData: [{ name: 't', partitionData: [{ index: 2, records }] }],
      });
      expect(decoded.topicData[0]!.partitionData[0]!.records!.equals(records)).toBe(true);
      expect(decoded.acks).toBe(-1);
    }
  });

  it('keeps fields only in the versions that have them (Metadata topicId from v10)', () => {
    const topicId = Buffer.alloc(16, 1).toString('base64url');
    for (let v = 0; v <= 12; v++) {
      const { decoded } = roundtrip(metadata.writeMetadataResponse, metadata.readMetadataResponse, v, {
        brokers: [{ nodeId: 1, host: 'h', port: 9092, rack: null }],
        clusterId: 'c',
        controllerId: 1,
        topics: [{ errorCode: 0, name: 'x', topicId, isInternal: false, partitions: [{ partitionIndex: 0, leaderId: 1, leaderEpoch: 5, replicaNodes: [1], isrNodes: [1] }] }],
      });
      expect(decoded.topics[0]!.topicId).toBe(v >= 10 ? topicId : 'AAAAAAAAAAAAAAAAAAAAAA');
      expect(decoded.topics[0]!.partitions[0]!.leaderEpoch).toBe(v >= 7 ? 5 : -1);
      expect(decoded.clusterId).toBe(v >= 2 ? 'c' : null);
    }
  });

  it('writes and reads tagged fields (ApiVersions v3 finalized features)', () => {
    const { decoded } = roundtrip(apiVersions.writeApiVersionsResponse, apiVersions.readApiVersionsResponse, 3, {
      errorCode: 0,
      apiKeys: [{ apiKey: 0, minVersion: 0, maxVersion: 11 }],
      finalizedFeaturesEpoch: 7,
      supportedFeatures: [{ name: 'f', minVersion: 1, maxVersion: 2 }],
    });
    expect(decoded.finalizedFeaturesEpoch).toBe(7);
    expect(decoded.supportedFeatures).toEqual([{ name: 'f', minVersion: 1, maxVersion: 2 }]);
  });

  it('skips unknown tagged fields', () => {
    const w = new Writer();
    w.int16(18).int16(3).int32(99).nullableString('cli');
    w.uvarint(1).uvarint(42).uvarint(3).raw(Buffer.from([1, 2, 3])); // header tag 42, 3 bytes
    w.compactString('floe-test').compactString('1.0').uvarint(0);
    const { header: h, body } = readHeader(w.toBuffer());
    expect(h).toEqual({ apiKey: 18, apiVersion: 3, correlationId: 99, clientId: 'cli' });
    const req = apiVersions.readApiVersionsRequest(body, 3);
    expect(req.clientSoftwareName).toBe('floe-test');
  });

  it('rejects truncated and lying input with ProtocolError, never a crash', () => {
    const w = new Writer();
    fetch.writeFetchRequest(w, 12, { maxWaitMs: 500, topics: [{ topic: 'abc', partitions: [{ partition: 0, fetchOffset: 5, partitionMaxBytes: 1 << 20 }] }] });
    const full = w.toBuffer();
    for (let cut = 0; cut < full.length; cut++) {
      expect(() => fetch.readFetchRequest(new Reader(full.subarray(0, cut)), 12)).toThrow(ProtocolError);
    }
    const huge = Buffer.from(full);
    huge.writeInt32BE(0x7fffffff, 0); // replicaId is fine, but make an array length absurd:
    const lying = Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0x0f])]);
    expect(() => new Reader(lying).compactArrayLength()).toThrow(ProtocolError);
  });

  it('encodes the request header v1 and v2 as Kafka does (client id never compact)', () => {
    const w = new Writer();
    header.writeRequestHeader(w, 2, { requestApiKey: 3, requestApiVersion: 12, correlationId: 1, clientId: 'ab' });
    expect([...w.toBuffer()]).toEqual([0, 3, 0, 12, 0, 0, 0, 1, 0, 2, 0x61, 0x62, 0]);
  });
});
