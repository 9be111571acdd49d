import { describe, expect, it } from 'vitest';
import { valuesBatch } from './batch-builder.js';
import { crashImage, openLog, tempDir } from './helpers.js';

const PID = 4242;

function pbatch(seq: number, n = 1, epoch = 0, pid = PID): Buffer {
  return valuesBatch(n, `s${seq}-`, { producerId: pid, producerEpoch: epoch, baseSequence: seq });
}

describe('idempotent producer', () => {
  it('recognises a retry of each of the last 5 batches and writes nothing', async () => {
    const log = await openLog(await tempDir());
    const originals = [];
    for (let i = 0; i < 6; i++) originals.push(await log.append(pbatch(i * 2, 2)));
    const end = log.logEndOffset;
    for (let i = 1; i < 6; i++) {
      const r = await log.append(pbatch(i * 2, 2));
      expect(r).toMatchObject({ duplicate: true, baseOffset: originals[i]!.baseOffset, lastOffset: originals[i]!.lastOffset });
    }
    expect(log.logEndOffset).toBe(end);
    // The 6th-newest batch has left the window: it is no longer a duplicate but out of order.
    await expect(log.append(pbatch(0, 2))).rejects.toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' });
    expect(log.logEndOffset).toBe(end);
  });

  it('rejects a sequence gap and keeps accepting the right next sequence', async () => {
    const log = await openLog(await tempDir());
    await log.append(pbatch(0, 3));
    await expect(log.append(pbatch(4))).rejects.toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' });
    await expect(log.append(pbatch(2))).rejects.toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' });
    expect((await log.append(pbatch(3))).baseOffset).toBe(3);
  });

  it('fences an older epoch and requires a new epoch to start at sequence 0', async () => {
    const log = await openLog(await tempDir());
    await log.append(pbatch(0, 1, 5));
    await expect(log.append(pbatch(1, 1, 4))).rejects.toMatchObject({ code: 'INVALID_PRODUCER_EPOCH' });
    await expect(log.append(pbatch(7, 1, 6))).rejects.toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' });
    expect((await log.append(pbatch(0, 1, 6))).duplicate).toBe(false);
    expect((await log.append(pbatch(1, 1, 6))).baseOffset).toBe(2);
    await expect(log.append(pbatch(2, 1, 5))).rejects.toMatchObject({ code: 'INVALID_PRODUCER_EPOCH' });
    expect(log.producers()).toEqual([
      expect.objectContaining({ producerId: PID, producerEpoch: 6, lastSequence: 1, currentTxnStartOffset: -1 }),
    ]);
  });

  it('accepts an unknown producer at any sequence and wraps at int32 max', async () => {
    const log = await openLog(await tempDir());
    await log.append(pbatch(0x7ffffffe, 2));
    expect(log.producers()[0]!.lastSequence).toBe(0x7fffffff);
    expect((await log.append(pbatch(0, 1))).duplicate).toBe(false);
    // A batch spanning the wrap.
    await log.append(pbatch(0x7ffffffe, 3, 0, 7));
    expect(log.producers().find((p) => p.producerId === 7)!.lastSequence).toBe(0);
    expect((await log.append(pbatch(1, 1, 0, 7))).duplicate).toBe(false);
  });

  it('non-idempotent batches skip the checks', async () => {
    const log = await openLog(await tempDir());
    await log.append(valuesBatch(1));
    await log.append(valuesBatch(1));
    expect(log.logEndOffset).toBe(2);
    expect(log.producers()).toEqual([]);
  });

  it('tracks the open transaction until a control marker', async () => {
    const log = await openLog(await tempDir());
    await log.append(valuesBatch(1, 'a', { producerId: 9, producerEpoch: 0, baseSequence: 0, transactional: true }));
    await log.append(valuesBatch(1, 'b', { producerId: 9, producerEpoch: 0, baseSequence: 1, transactional: true }));
    expect(log.producers()[0]!.currentTxnStartOffset).toBe(0);
    expect(log.lastStableOffset).toBe(0);
    await log.append(valuesBatch(1, 'm', { producerId: 9, producerEpoch: 0, baseSequence: -1, transactional: true, control: true }));
    expect(log.producers()[0]!.currentTxnStartOffset).toBe(-1);
    expect(log.lastStableOffset).toBe(3);
  });

  it('producer state survives a clean reopen and a crash (snapshot + replay)', async () => {
    const dir = await tempDir();
    const log = await openLog(dir, { segmentBytes: 400 });
    for (let i = 0; i < 12; i++) await log.append(pbatch(i));
    expect(log.segmentCount()).toBeGreaterThan(2);
    await log.close();
    const clean = await openLog(dir, { segmentBytes: 400 });
    expect((await clean.append(pbatch(11))).duplicate).toBe(true);
    await expect(clean.append(pbatch(13))).rejects.toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' });
    await clean.append(pbatch(12));
    await clean.flush();
    // A crash image: no clean-shutdown mark, so the tail is replayed from the last snapshot.
    const crashed = await openLog(await crashImage(dir), { segmentBytes: 400 });
    expect(crashed.logEndOffset).toBe(13);
    const dup = await crashed.append(pbatch(12));
    expect(dup).toMatchObject({ duplicate: true, baseOffset: 12 });
    expect((await crashed.append(pbatch(13))).baseOffset).toBe(13);
  });
});
