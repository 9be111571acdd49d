// `floe group list|describe|delete|reset-offsets` through the built CLI against a real broker,
// with a real (kafkajs) group member in the group.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startBroker, type BrokerHandle } from '../harness/broker.js';
import { runProcess, type RunResult } from '../harness/process.js';
import { Member, waitFor } from './members.js';

const CLI = path.join(REPO_ROOT, 'dist/api/cli/main.js');
const TOPIC = 'cli-orders';
const GROUP = 'cli-group';
const PARTS = 3;

let broker: BrokerHandle;
const members: Member[] = [];

function floe(args: string[], input?: string): Promise<RunResult> {
  return runProcess(process.execPath, [CLI, ...args], { input, env: { FLOE_BROKERS: broker.bootstrap }, allowFailure: true, timeoutMs: 60_000 });
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await floe(args, input);
  if (r.code !== 0) throw new Error(`floe ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

/** Exit 1 with exactly one `floe: ...` line on stderr matching `message`. */
async function fails(args: string[], message: RegExp): Promise<RunResult> {
  const r = await floe(args);
  expect(r.code, `floe ${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines.length, r.stderr).toBe(1);
  expect(lines[0]).toMatch(/^floe: /);
  expect(lines[0]).toMatch(message);
  return r;
}

/** Produces `n` records to each partition with timestamps base, base+1, ... */
async function produce(n: number, base: number): Promise<void> {
  const lines: string[] = [];
  for (let p = 0; p < PARTS; p++) for (let i = 0; i < n; i++) lines.push(`${p},${base + i},v${p}-${base + i}`);
  await ok(['produce', TOPIC, '-q', '-f', '%p,%d,%v\\n'], lines.join('\n') + '\n');
}

interface Described {
  group: string;
  state: string;
  protocolType: string;
  protocol: string;
  totalLag: number;
  members: Array<{ memberId: string; instanceId: string | null; clientId: string; host: string; assignment: Record<string, number[]> }>;
  partitions: Array<{ topic: string; partition: number; committed: number | null; logStart: number; logEnd: number; lag: number | null; clientId: string | null }>;
}

async function describeJson(group: string): Promise<Described> {
  return JSON.parse(await ok(['group', 'describe', group, '--json'])) as Described;
}

beforeAll(async () => {
  broker = await startBroker();
  await ok(['topic', 'create', TOPIC, '-p', String(PARTS)]);
  await produce(5, 1_000);
});

afterAll(async () => {
  for (const m of members) if (m.running) await m.kill();
  await broker?.stop();
});

describe('floe group', () => {
  it('lists, describes and refuses to reset or delete a group with a live member', { timeout: 90_000 }, async () => {
    expect(await ok(['group', 'list'])).toBe('GROUP  STATE  PROTOCOL-TYPE\n');
    const m = Member.spawn('kafkajs', broker.bootstrap, TOPIC, GROUP, 'cli-member');
    members.push(m);
    await waitFor('the member to commit everything', () => m.committed.size === PARTS && [...m.committed.values()].every((o) => o === 5), 45_000, () => m.describe());

    expect(await ok(['group', 'list'])).toMatch(new RegExp(`^GROUP\\s+STATE\\s+PROTOCOL-TYPE\\n${GROUP}\\s+Stable\\s+consumer\\n$`));
    expect(JSON.parse(await ok(['group', 'list', '--state', 'stable', '--json']))).toEqual([{ groupId: GROUP, protocolType: 'consumer', state: 'Stable' }]);
    expect(JSON.parse(await ok(['group', 'list', '--state', 'Empty,Dead', '--json']))).toEqual([]);
    await fails(['group', 'list', '--state', 'sleepy'], /unknown group state "sleepy"/);

    const d = await describeJson(GROUP);
    expect(d).toMatchObject({ group: GROUP, state: 'Stable', protocolType: 'consumer', protocol: 'RoundRobinAssigner', totalLag: 0 });
    expect(d.members).toHaveLength(1);
    expect(d.members[0]).toMatchObject({ clientId: 'cli-member', instanceId: null, assignment: { [TOPIC]: [0, 1, 2] } });
    expect(d.members[0]!.host).toMatch(/127\.0\.0\.1/);
    expect(d.partitions.map((p) => [p.partition, p.committed, p.logStart, p.logEnd, p.lag, p.clientId])).toEqual([
      [0, 5, 0, 5, 0, 'cli-member'],
      [1, 5, 0, 5, 0, 'cli-member'],
      [2, 5, 0, 5, 0, 'cli-member'],
    ]);
    const text = await ok(['group', 'describe', GROUP]);
    expect(text).toMatch(/^GROUP\s+cli-group\nSTATE\s+Stable\n/);
    expect(text).toMatch(/MEMBER-ID\s+INSTANCE-ID\s+CLIENT-ID\s+HOST\s+ASSIGNMENT\n\S+\s+-\s+cli-member\s+\/?127\.0\.0\.1\s+cli-orders:\[0,1,2\]\n/);
    expect(text).toMatch(/TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+LOG-START-OFFSET\s+LOG-END-OFFSET\s+LAG\s+MEMBER-ID\s+CLIENT-ID\s+HOST\n/);
    expect(text).toMatch(/\ncli-orders\s+1\s+5\s+0\s+5\s+0\s+\S+\s+cli-member\s+/);

    await fails(['group', 'reset-offsets', GROUP, '--topic', TOPIC, '--to', 'earliest'], /needs an empty group/);
    await fails(['group', 'delete', GROUP], /NON_EMPTY_GROUP/);
    await m.stop();
  });

  it('shows lag and resets offsets of an empty group: dry run, earliest, latest, offset, timestamp', { timeout: 90_000 }, async () => {
    await produce(2, 5_000);
    const d = await describeJson(GROUP);
    expect(d).toMatchObject({ state: 'Empty', members: [], totalLag: 6 });
    expect(d.partitions.map((p) => [p.partition, p.committed, p.logEnd, p.lag, p.clientId])).toEqual([
      [0, 5, 7, 2, null],
      [1, 5, 7, 2, null],
      [2, 5, 7, 2, null],
    ]);
    const committed = async () => (await describeJson(GROUP)).partitions.map((p) => p.committed);

    const dry = await ok(['group', 'reset-offsets', GROUP, '-t', TOPIC, '--to', 'earliest', '--dry-run']);
    expect(dry).toMatch(/cli-orders\s+0\s+5\s+0\s+DRY-RUN/);
    expect(await committed()).toEqual([5, 5, 5]);

    expect(await ok(['group', 'reset-offsets', GROUP, '-t', TOPIC, '--to', 'earliest'])).toMatch(/cli-orders\s+2\s+5\s+0\s+OK/);
    expect(await committed()).toEqual([0, 0, 0]);
    await ok(['group', 'reset-offsets', GROUP, '-t', TOPIC, '--to', 'latest']);
    expect(await committed()).toEqual([7, 7, 7]);
    await ok(['group', 'reset-offsets', GROUP, '-t', TOPIC, '--to', '3', '--partitions', '0,2']);
    expect(await committed()).toEqual([3, 7, 3]);
    // Beyond the log end is clamped to it.
    await ok(['group', 'reset-offsets', GROUP, '-t', TOPIC, '--to', '99', '-p', '0']);
    expect(await committed()).toEqual([7, 7, 3]);
    // The first record at or after 3000 ms is the first of the second batch (offset 5).
    const json = JSON.parse(await ok(['group', 'reset-offsets', GROUP, '-t', TOPIC, '--to', '@3000', '--json']));
    expect(json.partitions.map((p: { partition: number; previous: number; next: number }) => [p.partition, p.previous, p.next])).toEqual([
      [0, 7, 5],
      [1, 7, 5],
      [2, 3, 5],
    ]);
    expect(await committed()).toEqual([5, 5, 5]);
    await ok(['group', 'reset-offsets', GROUP, '-t', TOPIC, '--to', '@1003']);
    expect(await committed()).toEqual([3, 3, 3]);
    // No record that late: the log end.
    await ok(['group', 'reset-offsets', GROUP, '-t', TOPIC, '--to', '@9999999999999']);
    expect(await committed()).toEqual([7, 7, 7]);

    // A reset group is where the next consumer starts.
    await ok(['group', 'reset-offsets', GROUP, '-t', TOPIC, '--to', '6']);
    const m = Member.spawn('kafkajs', broker.bootstrap, TOPIC, GROUP, 'cli-member-2');
    members.push(m);
    await waitFor('the member to read the rest', () => m.committed.size === PARTS && [...m.committed.values()].every((o) => o === 7), 45_000, () => m.describe());
    await m.stop();
    expect(m.processed.map(([p, o]) => `${p}:${o}`).sort()).toEqual(['0:6', '1:6', '2:6']);
  });

  it('reports bad input as one line and exit 1', async () => {
    await fails(['group', 'reset-offsets', GROUP, '-t', TOPIC, '--to', 'yesterday'], /--to must be earliest, latest, an offset or @<ms>/);
    await fails(['group', 'reset-offsets', GROUP, '-t', TOPIC, '--to', '1', '-p', '0,7'], /has no partition 7/);
    await fails(['group', 'reset-offsets', GROUP, '-t', 'no-such-topic', '--to', '1'], /unknown topic "no-such-topic"/);
    await fails(['group', 'reset-offsets', GROUP, '--to', '1'], /--topic/);
    await fails(['group', 'describe', 'no-such-group'], /group "no-such-group" not found/);
    await fails(['group', 'describe', GROUP, '-X', '127.0.0.1:1'], /cannot connect to 127\.0\.0\.1:1/);
  });

  it('deletes empty groups and reports unknown ones', async () => {
    await ok(['group', 'reset-offsets', 'other-group', '-t', TOPIC, '--to', 'latest']);
    expect(JSON.parse(await ok(['group', 'list', '--json'])).map((g: { groupId: string }) => g.groupId)).toEqual([GROUP, 'other-group']);
    const r = await floe(['group', 'delete', GROUP, 'nope']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/cli-group\s+OK\n/);
    expect(r.stdout).toMatch(/nope\s+GROUP_ID_NOT_FOUND\n/);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^floe: group "nope": GROUP_ID_NOT_FOUND/)]);
    expect(JSON.parse(await ok(['group', 'list', '--json'])).map((g: { groupId: string }) => g.groupId)).toEqual(['other-group']);
    await fails(['group', 'describe', GROUP], /not found/);
    expect(await ok(['group', 'delete', 'other-group'])).toMatch(/other-group\s+OK/);
    expect(await ok(['group', 'list'])).toBe('GROUP  STATE  PROTOCOL-TYPE\n');
  });
});
