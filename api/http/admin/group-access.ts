// How group admin reaches a group's coordinator: in-process when this broker holds the group
// (always, on a single node), else over the Kafka wire with the router's client. While the
// group's lease moves between brokers the request is asked again, up to a deadline.
import type { Broker } from '../../../broker/core/broker.js';
import { ErrorCode } from '../../../broker/protocol/generated/error-codes.js';
import { COORDINATOR_MOVED } from '../../../broker/client/group/transport.js';
import { describeGroup as describeRemote, fetchGroupOffsets } from '../../../broker/client/admin.js';
import { ConnectionError, KafkaError, RequestTimeoutError } from '../../../broker/client/errors.js';
import type { KafkaClient } from '../../../broker/client/kafka-client.js';
import { decodeAssignment } from '../../../broker/protocol/consumer/consumer-protocol.js';
import { HttpError, kafkaError } from '../errors.js';

/** How long an admin request waits for a group's coordinator to settle (a lease takeover). */
export const COORDINATOR_WAIT_MS = 10_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export interface GroupMemberSnapshot {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** topic -> partitions (consumer protocol only). */
  assignment: Map<string, number[]>;
}

/** A group as its coordinator describes it, with its committed offsets. */
export interface GroupSnapshot {
  state: string;
  protocolType: string;
  protocol: string;
  members: GroupMemberSnapshot[];
  /** "topic\0partition" -> committed offset. */
  committed: Map<string, number>;
}

export const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** Throws a KafkaError (the client's) for a non-zero code, so local and wire paths fail alike. */
export function checkCode(code: number, context: string): void {
  if (code !== ErrorCode.NONE) throw new KafkaError(code, null, context);
}

function moving(err: unknown): boolean {
  return (err instanceof KafkaError && COORDINATOR_MOVED.has(err.code)) || err instanceof ConnectionError || err instanceof RequestTimeoutError;
}

function asHttp(err: unknown): unknown {
  if (err instanceof HttpError) return err;
  if (err instanceof KafkaError) return kafkaError(err.code, err.message);
  if (err instanceof ConnectionError || err instanceof RequestTimeoutError) return kafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `group coordinator unreachable: ${err.message}`);
  return err;
}

/**
 * Runs `local` when this broker coordinates the group, else `remote` against the router's
 * shared client (bootstrapped here; FindCoordinator inside finds the holder). Failures are
 * HttpErrors.
 */
export async function onCoordinator<T>(broker: Broker, groupId: string, local: () => T | Promise<T>, remote: (client: KafkaClient) => Promise<T>): Promise<T> {
  return retryWhileMoving(broker, async () => {
    if (broker.cluster === null || broker.groups.ownership.owns(groupId)) return local();
    return remote(await broker.router.kafkaClient());
  });
}

/** Retries `fn` while a coordinator moves (cluster only), then reports the failure as an HttpError. */
export async function retryWhileMoving<T>(broker: Broker, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + COORDINATOR_WAIT_MS;
  let backoff = 100;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (broker.cluster === null || !moving(err) || Date.now() + backoff > deadline) throw asHttp(err);
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 1_000);
    }
  }
}

export function snapshotGroup(broker: Broker, groupId: string): Promise<GroupSnapshot> {
  return onCoordinator(
    broker,
    groupId,
    () => {
      const d = broker.groups.describe([groupId])[0]!;
      checkCode(d.errorCode, `group '${groupId}'`);
      const f = broker.groups.fetchOffsets(groupId, null);
      checkCode(f.errorCode, `group '${groupId}'`);
      const committed = new Map<string, number>();
      for (const t of f.topics) for (const p of t.partitions) if (p.committedOffset >= 0) committed.set(tpKey(t.name, p.partitionIndex), p.committedOffset);
      return {
        state: d.state,
        protocolType: d.protocolType,
        protocol: d.protocolName,
        members: d.members.map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          assignment: d.protocolType === 'consumer' ? decodeAssignment(m.assignment) : new Map<string, number[]>(),
        })),
        committed,
      };
    },
    async (client) => {
      const d = await describeRemote(client, groupId);
      if (d.error) throw d.error;
      const committed = new Map<string, number>();
      for (const [topic, parts] of await fetchGroupOffsets(client, groupId, null)) for (const [p, o] of parts) committed.set(tpKey(topic, p), o.offset);
      return {
        state: d.state,
        protocolType: d.protocolType,
        protocol: d.protocol,
        members: d.members.map((m) => ({ ...m, assignment: d.protocolType === 'consumer' ? m.assignment : new Map<string, number[]>() })),
        committed,
      };
    },
  );
}
