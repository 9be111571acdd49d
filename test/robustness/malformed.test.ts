// Malformed-input test: >= 100k frames mutated from real client captures (plus every truncation of
// a few frames, oversized and torn size prefixes) over many pipelined connections, while a healthy
// client keeps checking that the broker answers. The broker must never crash or hang: it answers
// each frame or closes that one connection.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BrokerConnection } from '../../broker/client/connection.js';
import { type Api, Metadata } from '../../broker/client/apis.js';
import { type ApiVersionsRequest, type ApiVersionsResponse, readApiVersionsResponse, writeApiVersionsRequest } from '../../broker/protocol/generated/api-versions.js';
import { encodeBatch } from '../../broker/protocol/records/records.js';
import { startBroker, type BrokerHandle } from '../harness/broker.js';
import { API_NAMES, type CapturedFrame, loadCaptures } from './captures.js';
import { FuzzConnection, withSizePrefix } from './fuzz-lane.js';
import { analyseSeed, everyTruncation, mutate, type Mutant, Rng } from './mutate.js';
import { predict } from './frame-predict.js';
import { connect, createTopic, fetchOnce, produce, request, sleep } from './wire.js';

const TARGET_FRAMES = Number(process.env.FLOE_FUZZ_FRAMES ?? 100_000);
const SEED = Number(process.env.FLOE_FUZZ_SEED ?? Date.now() % 1_000_000);
const LANES = 12;
/** Frames expected to parse in each pipelined chunk; one expected closer follows them. */
const PARSEABLE_PER_CHUNK = 7;
/**
 * Mutated CreateTopics/CreatePartitions may ask for up to Floe's limit of 100,000 partitions,
 * which starves the broker for minutes (reported separately); those are not sent.
 */
const MAX_FUZZ_PARTITIONS = 100;
/** Fuzzing stops here even if the target was not reached (the test then fails). */
const BUDGET_MS = 100_000;
/**
 * APIs that may legally hold a response: Fetch (maxWait), JoinGroup/SyncGroup (rebalances),
 * CreateTopics/CreatePartitions (their own timeoutMs; Floe creates partitions slowly, see report).
 */
const LONG_POLL = new Set([1, 11, 14, 19, 37]);
const LONG_POLL_STALL_MS = 1_500;
const HANG_MS = 10_000;
/** After a clean chunk, the chance that the connection ends with a torn or oversized frame. */
const TERMINAL_CHANCE = 0.06;
const HEALTH_TOPIC = 'floe-health-q7z';
const MAX_CRASH_RESTARTS = 3;

const ApiVersions: Api<ApiVersionsRequest, ApiVersionsResponse> = { key: 18, name: 'ApiVersions', write: writeApiVersionsRequest, read: readApiVersionsResponse };

const hex = (b: Buffer, max = 512) => b.subarray(0, max).toString('hex') + (b.length > max ? `...(+${b.length - max} bytes)` : '');
const apiOf = (f: Buffer) => (f.length >= 2 ? f.readInt16BE(0) : -1);
const apiName = (k: number) => API_NAMES[k] ?? `api${k}`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

function bump(m: Map<string, number>, k: string, n = 1): void {
  m.set(k, (m.get(k) ?? 0) + n);
}

const top = (m: Map<string, number>, n = 8) =>
  [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

/** Frames whose every proper prefix is sent: one small frame of each of these APIs, per wire style. */
function truncationSeeds(captures: CapturedFrame[]): CapturedFrame[] {
  const out: CapturedFrame[] = [];
  for (const key of [0, 1, 2, 3, 8, 11, 14, 18, 19]) {
    for (const flexible of [false, true]) {
      const candidates = captures
        .filter((c) => c.apiKey === key && (c.client === 'java' || c.client === 'python') === flexible)
        .sort((a, b) => a.frame.length - b.frame.length);
      if (candidates[0]) out.push(candidates[0]);
    }
  }
  return out;
}

describe('malformed input', () => {
  let broker: BrokerHandle | undefined;
  afterAll(async () => {
    await broker?.stop();
  });

  it(`survives ${TARGET_FRAMES} mutated, truncated and oversized frames`, { timeout: 170_000 }, async () => {
    const captures = loadCaptures();
    const seeds = captures.map((c) => analyseSeed(c.frame));
    expect(new Set(captures.map((c) => c.apiKey)).size).toBeGreaterThanOrEqual(15);
    const truncations: Mutant[] = truncationSeeds(captures).flatMap((c) => [...everyTruncation(c.frame, c.apiKey)]);

    // Warn lines per closed connection would flood the harness's log buffer; errors are what count.
    broker = await startBroker({ env: { FLOE_LOG_LEVEL: process.env.FLOE_FUZZ_LOG_LEVEL ?? 'error' } });
    const b = broker;
    const setup = await connect(b.kafkaPort, 'floe-health');
    await createTopic(setup, HEALTH_TOPIC, 1);
    setup.close();

    const rng = new Rng(SEED);
    const started = Date.now();
    let processed = 0;
    let truncIndex = 0;
    let stopping = false;
    const finished = () => stopping || processed >= TARGET_FRAMES || Date.now() - started > BUDGET_MS;

    const s = {
      connections: 0,
      connectFailures: 0,
      answered: 0,
      silentProduce: 0,
      closes: 0,
      parked: 0,
      skippedHugePartitions: 0,
      droppedClosers: 0,
      unexpectedCloses: 0,
      terminal: new Map<string, number>(),
      closesByKind: new Map<string, number>(),
      closesByApi: new Map<string, number>(),
      sentByKind: new Map<string, number>(),
    };
    const findings: string[] = [];
    const silentOther: string[] = [];
    const unexpectedSamples: string[] = [];
    const hangs: string[] = [];
    const crashes: string[] = [];
    const parkedConns: FuzzConnection[] = [];
    const current: Array<readonly Mutant[]> = Array.from({ length: LANES }, () => []);
    let restarting: Promise<void> | null = null;

    /** The broker died: keep what every lane had in flight, restart it, carry on. */
    const onCrash = async (why: string) => {
      if (restarting) return restarting;
      restarting = (async () => {
        const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'floe-fuzz-crash-')), 'in-flight.txt');
        const lines = current.flatMap((chunk, lane) => chunk.map((m, i) => `lane ${lane} #${i} ${m.kind} ${apiName(apiOf(m.frame))}: ${hex(m.frame, 4096)}`));
        writeFileSync(file, lines.join('\n'));
        const tail = b.logs().slice(-3000);
        crashes.push(`${why} after ${processed} frames; in-flight frames in ${file}; broker log tail:\n${tail}`);
        if (crashes.length > MAX_CRASH_RESTARTS) {
          stopping = true;
          return;
        }
        await b.restart();
      })().finally(() => {
        restarting = null;
      });
      return restarting;
    };

    const stallMs = (m: Mutant) => (LONG_POLL.has(apiOf(m.frame)) ? LONG_POLL_STALL_MS : HANG_MS);

    // Most mutants cannot be parsed and cost the broker a connection each, so a chunk is the
    // parseable ones first and at most one expected closer last; surplus closers are dropped.
    const closers: Mutant[] = [];
    const takeChunk = (requeue: Mutant[]): { parseable: Mutant[]; closer: Mutant } => {
      const parseable = requeue.splice(0, PARSEABLE_PER_CHUNK);
      let closer: Mutant | undefined = truncIndex < truncations.length ? truncations[truncIndex++] : closers.shift();
      while (parseable.length < PARSEABLE_PER_CHUNK || !closer) {
        const m = mutate(rng, seeds);
        const p = predict(m.frame);
        if (p.partitions > MAX_FUZZ_PARTITIONS) s.skippedHugePartitions++;
        else if (p.parses && parseable.length < PARSEABLE_PER_CHUNK) parseable.push(m);
        else if (!p.parses && !closer) closer = m;
        else if (!p.parses && closers.length < 64) closers.push(m);
        else s.droppedClosers++;
      }
      return { parseable, closer };
    };

    /** Ends a connection with a torn or oversized frame; returns what happened, for the tally. */
    const terminal = async (conn: FuzzConnection): Promise<void> => {
      const r = rng.int(0, 3);
      if (r === 0) {
        // Above socket.request.max.bytes or negative: the broker must close.
        const size = rng.pick([0x7fffffff, -1, -0x80000000, 104_857_601, 0x40000000]);
        conn.socket.write(withSizePrefix(Buffer.alloc(16, 0x41), size));
        const closed = await conn.waitClose(5_000);
        bump(s.terminal, closed ? 'oversize-closed' : 'oversize-open');
        if (!closed) findings.push(`size prefix ${size} (${(size >>> 0).toString(16)}) did not close the connection within 5 s`);
      } else if (r === 1) {
        // Large but allowed: the broker waits for the rest; it must not allocate it up front or die.
        conn.socket.write(withSizePrefix(Buffer.alloc(1024, 0x42), 50_000_000));
        await sleep(20);
        bump(s.terminal, 'big-then-reset');
      } else if (r === 2) {
        // Half a frame, then our FIN: the broker should close its side too.
        conn.socket.end(withSizePrefix(Buffer.alloc(50, 0x43), 100));
        const closed = await conn.waitClose(5_000);
        bump(s.terminal, closed ? 'torn-fin-closed' : 'torn-fin-open');
        if (!closed) findings.push('a connection half-closed by the client mid-frame was not closed by the broker within 5 s');
      } else {
        conn.socket.write(Buffer.from([0, 0, 1]));
        bump(s.terminal, 'torn-prefix-reset');
      }
      conn.destroy();
    };

    /** Sends one chunk and books the outcome; false when the connection is finished. */
    const runChunk = async (conn: FuzzConnection, chunk: Mutant[], requeue: Mutant[], expectClose: boolean): Promise<boolean> => {
      for (const m of chunk) bump(s.sentByKind, m.kind);
      const o = await conn.run(chunk, stallMs);
      s.answered += o.answered;
      for (const i of o.silent) {
        const m = chunk[i]!;
        if (apiOf(m.frame) === 0) s.silentProduce++;
        else if (silentOther.length < 20) silentOther.push(`${m.kind} ${apiName(apiOf(m.frame))} (${m.frame.length} bytes): ${hex(m.frame)}`);
        else silentOther.push('');
      }
      processed += o.answered + o.silent.length;
      if (o.kind === 'done') return true;
      if (o.kind === 'mismatch') {
        findings.push(`response with correlation id ${o.correlationId} matches no pending request`);
        conn.destroy();
        return false;
      }
      const culprit = chunk[o.at];
      if (culprit) {
        processed++;
        requeue.push(...chunk.slice(o.at + 1));
      }
      if (o.kind === 'closed') {
        s.closes++;
        if (culprit) {
          bump(s.closesByKind, culprit.kind);
          bump(s.closesByApi, apiName(apiOf(culprit.frame)));
          if (!expectClose) {
            // The decoders accept it, so a handler failed (or a response was lost to a close).
            s.unexpectedCloses++;
            if (unexpectedSamples.length < 20) unexpectedSamples.push(`${culprit.kind} ${apiName(apiOf(culprit.frame))} v${culprit.frame.length >= 4 ? culprit.frame.readInt16BE(2) : '?'}: ${hex(culprit.frame)}`);
          }
        }
        if (!alive(b.pid)) await onCrash('broker process died');
        return false;
      }
      // Stalled: a long-poll is legal; anything else is a hang.
      if (culprit && LONG_POLL.has(apiOf(culprit.frame))) {
        s.parked++;
        parkedConns.push(conn);
      } else {
        if (!alive(b.pid)) await onCrash('broker process died');
        else hangs.push(`${culprit ? `${culprit.kind} ${apiName(apiOf(culprit.frame))}: ${hex(culprit.frame)}` : 'sentinel'} unanswered for ${HANG_MS} ms`);
        conn.destroy();
      }
      return false;
    };

    const lane = async (id: number): Promise<void> => {
      const requeue: Mutant[] = [];
      while (!finished()) {
        if (restarting) await restarting;
        let conn: FuzzConnection;
        try {
          conn = await FuzzConnection.open(b.kafkaPort);
        } catch {
          s.connectFailures++;
          if (!alive(b.pid)) await onCrash('broker process died (connection refused)');
          await sleep(20);
          continue;
        }
        s.connections++;
        for (;;) {
          if (finished()) {
            conn.destroy();
            return;
          }
          // Parseable frames pipelined first, then the expected closer alone, so that the
          // closer does not take the earlier frames' responses down with the connection.
          const { parseable, closer } = takeChunk(requeue);
          current[id] = [...parseable, closer];
          if (!(await runChunk(conn, parseable, requeue, false))) {
            closers.unshift(closer);
            break;
          }
          if (rng.chance(TERMINAL_CHANCE)) {
            closers.unshift(closer);
            await terminal(conn);
            break;
          }
          if (!(await runChunk(conn, [closer], requeue, true))) break;
        }
      }
    };

    // The healthy client: ApiVersions plus a produce/fetch round trip, every half second.
    const health = { ok: 0, failed: [] as string[], maxMs: 0 };
    let healthConn: BrokerConnection | null = null;
    const healthCheck = async (n: number): Promise<void> => {
      const t0 = Date.now();
      if (!healthConn || healthConn.closed) {
        if (healthConn) health.failed.push(`check ${n}: the healthy client's connection was closed`);
        healthConn = await connect(b.kafkaPort, 'floe-health');
      }
      const c = healthConn;
      const av = await request(c, ApiVersions, 3, { clientSoftwareName: 'floe-health', clientSoftwareVersion: '1' });
      if (av.errorCode !== 0 || av.apiKeys.length < 5) throw new Error(`ApiVersions answered error ${av.errorCode} with ${av.apiKeys.length} APIs`);
      const value = `health-${n}-${SEED}`;
      const p = await produce(c, HEALTH_TOPIC, 0, await encodeBatch({ records: [{ value }] }));
      if (p.errorCode !== 0) throw new Error(`Produce answered error ${p.errorCode}: ${p.errorMessage}`);
      const f = await fetchOnce(c, HEALTH_TOPIC, 0, p.baseOffset);
      const got = f.batches.flatMap((x) => x.records).find((r) => r.offset === p.baseOffset);
      if (got?.value?.toString() !== value) throw new Error(`Fetch at ${p.baseOffset} returned ${got?.value?.toString() ?? 'nothing'}, expected ${value}`);
      health.maxMs = Math.max(health.maxMs, Date.now() - t0);
    };
    const healthLoop = async (): Promise<void> => {
      for (let n = 0; !finished(); n++) {
        if (restarting) await restarting;
        try {
          await healthCheck(n);
          health.ok++;
        } catch (e) {
          health.failed.push(`check ${n} at ${((Date.now() - started) / 1000).toFixed(1)} s: ${(e as Error).message}`);
          healthConn?.close();
          healthConn = null;
          if (!alive(b.pid)) await onCrash('broker process died (seen by the health check)');
        }
        await sleep(500);
      }
    };

    await Promise.all([healthLoop(), ...Array.from({ length: LANES }, (_, i) => lane(i))]);
    const elapsed = (Date.now() - started) / 1000;
    for (const c of parkedConns) c.destroy();

    // The broker must still be the same live process and serve correctly.
    const stillAlive = alive(b.pid);
    let finalCheck = 'ok';
    try {
      await healthCheck(-1);
      const md = await request(healthConn!, Metadata, 12, { topics: [{ name: HEALTH_TOPIC }], allowAutoTopicCreation: false });
      if (md.topics[0]?.errorCode !== 0) throw new Error(`Metadata for ${HEALTH_TOPIC}: error ${md.topics[0]?.errorCode}`);
    } catch (e) {
      finalCheck = (e as Error).message;
    }
    (healthConn as BrokerConnection | null)?.close();
    // Graceful shutdown must still work after the abuse.
    const stopStarted = Date.now();
    let stopResult = 'ok';
    await b.stop().catch((e: unknown) => {
      stopResult = (e as Error).message.split('\n')[0]!;
    });
    const stopMs = Date.now() - stopStarted;
    broker = undefined;
    const errorLines = b.logs().split('\n').filter((l) => /"level":(50|60)/.test(l));
    // With FLOE_FUZZ_LOG_LEVEL=warn (and fewer frames: the harness keeps 2 MB of log) the
    // reasons handlers failed are listed.
    const handlerFailures = new Map<string, number>();
    for (const l of b.logs().split('\n')) {
      if (!l.includes('request handler failed')) continue;
      try {
        const j = JSON.parse(l) as { apiKey?: number; err?: { message?: string } };
        bump(handlerFailures, `api ${j.apiKey ?? '?'}: ${j.err?.message ?? '?'}`);
      } catch {
        // not a JSON line
      }
    }

    console.log(
      [
        `malformed input (seed ${SEED}): ${processed} frames in ${elapsed.toFixed(1)} s = ${Math.round(processed / elapsed)} frames/s over ${s.connections} connections (${LANES} lanes, ${PARSEABLE_PER_CHUNK}+1 frames/chunk)`,
        `  sent by kind: ${top(s.sentByKind, 20)}`,
        `  responses ${s.answered}, connections closed by the broker ${s.closes}, silent acks=0 produces ${s.silentProduce}, silent others ${silentOther.length}, parked long-polls ${s.parked}`,
        `  not sent: ${s.skippedHugePartitions} frames asking for > ${MAX_FUZZ_PARTITIONS} partitions, ${s.droppedClosers} surplus unparseable frames`,
        `  closes on frames the decoders accept (handler failures): ${s.unexpectedCloses}${unexpectedSamples.length ? `, e.g.\n    ${unexpectedSamples.slice(0, 5).join('\n    ')}` : ''}`,
        `  closes by culprit kind: ${top(s.closesByKind, 20)}`,
        `  closes by culprit api: ${top(s.closesByApi, 12)}`,
        `  terminal frames: ${top(s.terminal)}`,
        `  health checks ok ${health.ok}, failed ${health.failed.length}, slowest ${health.maxMs} ms; broker alive at end: ${stillAlive}; final check: ${finalCheck}; graceful stop: ${stopResult} in ${stopMs} ms`,
        `  broker error log lines: ${errorLines.length}${errorLines.length ? `, e.g. ${errorLines.slice(0, 3).join(' | ').slice(0, 1500)}` : ''}`,
        ...(handlerFailures.size ? [`  handler failures: ${top(handlerFailures, 10)}`] : []),
        `  crashes ${crashes.length}, hangs ${hangs.length}, findings ${findings.length}`,
        ...crashes.map((c) => `  CRASH: ${c}`),
        ...hangs.slice(0, 10).map((h) => `  HANG: ${h}`),
        ...[...new Set(findings)].slice(0, 10).map((f) => `  FINDING: ${f}`),
        ...silentOther.filter(Boolean).slice(0, 5).map((f) => `  SILENT (no response, no close): ${f}`),
        ...health.failed.slice(0, 10).map((f) => `  HEALTH: ${f}`),
      ].join('\n'),
    );

    expect(crashes).toEqual([]);
    expect(stillAlive).toBe(true);
    expect(finalCheck).toBe('ok');
    expect(stopResult).toBe('ok');
    expect(health.failed).toEqual([]);
    expect(health.ok).toBeGreaterThan(0);
    expect(hangs).toEqual([]);
    expect(silentOther.filter(Boolean)).toEqual([]);
    expect([...new Set(findings)]).toEqual([]);
    expect(truncIndex).toBe(truncations.length);
    expect(processed).toBeGreaterThanOrEqual(TARGET_FRAMES);
  });
});
