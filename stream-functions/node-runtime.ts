// Wires the function runtime into a node: tables come from the node's table service.
import type { Logger } from 'pino';
import type { Broker } from '../broker/core/broker.js';
import type { TableService } from '../vector/table-service.js';
import { FunctionRuntime } from './runtime.js';

export async function startFunctionRuntime(broker: Broker, tables: TableService, log: Logger): Promise<FunctionRuntime> {
  const rt = new FunctionRuntime({
    broker,
    log,
    tables: {
      get: (name) => tables.table(name),
      create: async (schema) => tables.table((await tables.create(schema)).schema.name),
    },
  });
  await rt.start();
  return rt;
}
