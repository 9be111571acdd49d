// group.min/max.session.timeout.ms are broker settings that JoinGroup validation uses.
import { afterEach, describe, expect, it } from 'vitest';
import { openHarness, type Harness } from './admin-harness.js';
import { ErrorCode } from '../../broker/protocol/generated/error-codes.js';
import { readJoinGroupResponse, writeJoinGroupRequest } from '../../broker/protocol/generated/join-group.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const join = (harness: Harness, sessionTimeoutMs: number) =>
  harness.call(
    11,
    5,
    writeJoinGroupRequest,
    { groupId: 'bounds', sessionTimeoutMs, rebalanceTimeoutMs: 10_000, memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }] },
    readJoinGroupResponse,
  );

describe('JoinGroup session timeout bounds', () => {
  it('refuses 3 s under the Kafka default minimum of 6 s', async () => {
    h = await openHarness();
    expect((await join(h, 3000)).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await join(h, 1_800_001)).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
  });

  it('accepts 3 s when group.min.session.timeout.ms allows it, and enforces the configured maximum', async () => {
    h = await openHarness({ groupMinSessionTimeoutMs: 1000, groupMaxSessionTimeoutMs: 20_000 });
    // v5's first join asks for a member id: the timeout passed validation.
    expect((await join(h, 3000)).errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    expect((await join(h, 30_000)).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
  });
});
