// The broker's LISTEN connection for high-watermark notifications. It reconnects with backoff
// after any error (server restart, pg_terminate_backend, network loss) and, once listening
// again, replays every partition's current high watermark so publications made while it was
// down are not left to the next heartbeat.
import pg from 'pg';
import { backoffDelay } from '../util/retry.js';
import type { LeaseKey } from './control-store.js';

export type HighWatermarkListener = (key: LeaseKey, epoch: number, highWatermark: number) => void;

export interface HighWatermarkWatcherOptions {
  url: string;
  /** First reconnect delay; doubles per failed attempt up to maxBackoffMs. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Shown in pg_stat_activity, so operators (and tests) can find the connection. */
  applicationName?: string;
  onError?: (err: unknown) => void;
}

export const HW_CHANNEL = 'floe_hw';

/** Parses a `floe_hw` payload: "<epoch> <high watermark> <lease key>". */
export function parseHighWatermarkPayload(payload: string): { key: LeaseKey; epoch: number; highWatermark: number } | null {
  const a = payload.indexOf(' ');
  const b = payload.indexOf(' ', a + 1);
  if (a < 0 || b < 0) return null;
  return { key: payload.slice(b + 1), epoch: Number(payload.slice(0, a)), highWatermark: Number(payload.slice(a + 1, b)) };
}

export class HighWatermarkWatcher {
  private client: pg.Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private failures = 0;
  /** Times a connection was (re)established and is listening; for tests and metrics. */
  connects = 0;
  private readonly minBackoff: number;
  private readonly maxBackoff: number;

  constructor(
    private readonly opts: HighWatermarkWatcherOptions,
    private readonly fn: HighWatermarkListener,
  ) {
    this.minBackoff = opts.minBackoffMs ?? 100;
    this.maxBackoff = opts.maxBackoffMs ?? 5_000;
  }

  /** Connects once; a failure here is the caller's (start-up should fail loudly), later ones retry. */
  async start(): Promise<void> {
    try {
      await this.connect();
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.opts.url, application_name: this.opts.applicationName ?? 'floe-hw-listener' });
    let dropped = false;
    const drop = (err: unknown) => {
      if (dropped) return;
      dropped = true;
      if (this.client === client) this.client = null;
      client.end().catch(() => {});
      if (this.stopped) return;
      this.opts.onError?.(err);
      this.scheduleReconnect();
    };
    client.on('error', drop);
    client.on('end', () => drop(new Error('listen connection ended')));
    client.on('notification', (n) => {
      if (n.channel !== HW_CHANNEL || !n.payload) return;
      const p = parseHighWatermarkPayload(n.payload);
      if (p) this.fn(p.key, p.epoch, p.highWatermark);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${HW_CHANNEL}`);
    } catch (err) {
      drop(err);
      throw err;
    }
    if (this.stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.failures = 0;
    this.connects++;
    if (this.connects > 1) await this.catchUp(client).catch((err: unknown) => drop(err));
  }

  /** Publications made while nobody listened: every partition's current high watermark. */
  private async catchUp(client: pg.Client): Promise<void> {
    const r = await client.query<{ key: string; epoch: number; high_watermark: string }>("SELECT key, epoch, high_watermark FROM floe_leases WHERE left(key, 2) = 'p/'");
    for (const row of r.rows) this.fn(row.key, row.epoch, Number(row.high_watermark));
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.timer) return;
    this.failures++;
    const delay = backoffDelay(this.failures, { initialMs: this.minBackoff, maxMs: this.maxBackoff });
    this.timer = setTimeout(() => {
      this.timer = null;
      // A failed attempt has already scheduled the next one.
      this.connect().catch(() => {});
    }, delay);
    this.timer.unref();
  }
}
