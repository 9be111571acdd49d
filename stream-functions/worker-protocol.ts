// Messages between the runtime (main thread) and function workers. Everything here must survive
// structured cloning: Buffers arrive as Uint8Array.
import type { MessagePort } from 'node:worker_threads';
import type { SearchQuery } from './sdk.js';

export type ModuleRef = { kind: 'file'; path: string } | { kind: 'builtin'; name: string };

export interface FnIdentity {
  name: string;
  version: number;
  inputs: string[];
  outputs: string[];
  table: string | null;
  vars: Record<string, string>;
}

export interface WireRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: Array<{ key: string; value: Uint8Array | null }>;
}

export interface ProbeTask {
  kind: 'probe';
  module: ModuleRef;
  fn: FnIdentity;
}

export interface RunTask {
  kind: 'run';
  module: ModuleRef;
  fn: FnIdentity;
  records: WireRecord[];
  /** Answers ctx.search() calls. */
  port: MessagePort;
}

export interface CloseTask {
  kind: 'close';
  fn: FnIdentity;
}

export type WorkerTask = ProbeTask | RunTask | CloseTask;

export interface ProbeResult {
  name: string;
  mode: 'record' | 'batch';
  inputs: string[];
  outputs: string[];
  /** The table schema the function wants (vars applied), if any. */
  tableSpec: unknown;
  batch: { maxRecords?: number; lingerMs?: number } | null;
}

export interface WireEmit {
  topic: string | null;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: Array<{ key: string; value: Uint8Array | null }>;
  timestamp: number | null;
}

export interface WireLog {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  fields?: Record<string, unknown>;
  time: number;
}

export type TableWrite = { op: 'upsert'; table: string | null; rows: Array<Record<string, unknown>> } | { op: 'delete'; table: string | null; keys: Array<string | number> };

export interface Effects {
  emits: WireEmit[];
  /** Table writes in the order they were asked for. */
  writes: TableWrite[];
  logs: WireLog[];
  counters: Record<string, number>;
  gauges: Record<string, number>;
}

export interface SearchCall {
  id: number;
  table: string | null;
  query: SearchQuery;
}

export type SearchReply = { id: number; ok: true; hits: unknown[] } | { id: number; ok: false; error: string };
