// Wires the function runtime into a node: tables come from the node's table service.
import type { Logger } from 'pino';
import type { Broker } from '../broker/core/broker.js';
import type { TableService } from '../vector/table-service.js';
import { FunctionRuntime } from './runtime.js';

/** A whole number of ms from the environment (test and tuning knobs), or undefined. */
function envMs(name: string): number | undefined {
  const v = process.env[name];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

export async function startFunctionRuntime(broker: Broker, tables: TableService, log: Logger): Promise<FunctionRuntime> {
  // In a cluster a crashed broker's partitions move after the session timeout: keep it short.
  const sessionTimeoutMs = envMs('FLOE_FN_SESSION_TIMEOUT_MS') ?? (broker.cluster ? 10_000 : undefined);
  const heartbeatMs = envMs('FLOE_FN_HEARTBEAT_MS');
  const refreshMs = envMs('FLOE_FN_REFRESH_MS');
  const rt = new FunctionRuntime({
    broker,
    log,
    ...(sessionTimeoutMs !== undefined ? { sessionTimeoutMs } : {}),
    ...(heartbeatMs !== undefined ? { heartbeatMs } : {}),
    ...(refreshMs !== undefined ? { refreshMs } : {}),
    tables: {
      get: (name) => tables.table(name),
      create: async (schema) => tables.table((await tables.create(schema)).schema.name),
    },
  });
  await rt.start();
  return rt;
}
