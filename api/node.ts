// One Floe node: the broker state plus its Kafka listener. The HTTP API mounts beside it.
import type { Logger } from 'pino';
import type { BrokerConfig } from '../broker/config/broker-config.js';
import { parseConnectionOverrides } from '../broker/config/connection-overrides.js';
import { KafkaServer } from '../broker/server/index.js';
import { RequestDispatcher } from '../broker/handlers/dispatch.js';
import { Broker } from '../broker/core/broker.js';
import { startHttpServer } from './http/server.js';
import { TableService } from '../vector/table-service.js';
import { startFunctionRuntime } from '../stream-functions/node-runtime.js';

export interface FloeNode {
  broker: Broker;
  tables: TableService;
  kafka: { host: string; port: number };
  http: { host: string; port: number; url: string };
  close(): Promise<void>;
}

export async function startNode(config: BrokerConfig, log: Logger): Promise<FloeNode> {
  const broker = await Broker.open(config, log);
  const tables = await TableService.open(broker, log);
  const dispatcher = new RequestDispatcher(broker, log);
  const server = new KafkaServer({
    host: config.kafkaHost,
    port: config.kafkaPort,
    handler: (frame, conn) => dispatcher.dispatch(frame, conn),
    maxRequestBytes: config.socketRequestMaxBytes,
    idleTimeoutMs: config.connectionsMaxIdleMs,
    maxQueuedRequestBytes: config.queuedMaxRequestBytes,
    maxConnections: config.maxConnections,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    maxConnectionsPerIpOverrides: parseConnectionOverrides(config.maxConnectionsPerIpOverrides),
    requestReceiveTimeoutMs: config.requestReceiveTimeoutMs,
    logger: log,
  });
  const kafka = await server.listen();
  // With port 0 the advertised port is only known now.
  if (!config.advertisedPort) config.advertisedPort = kafka.port;
  if (broker.cluster) await broker.startCluster();
  else await broker.store.registerBroker({ nodeId: config.nodeId, host: broker.advertised.host, port: broker.advertised.port, rack: null });
  const functions = await startFunctionRuntime(broker, tables, log);
  const auth = { enabled: config.httpAuth, tokens: config.apiTokens?.split(',').map((t) => t.trim()).filter(Boolean) };
  const http = await startHttpServer(broker, log, { host: config.httpHost, port: config.httpPort, auth, kafka: { ...kafka, connectionCount: () => server.connectionCount } }).catch(async (err: unknown) => {
    await server.close(1_000);
    await functions.close();
    await tables.close();
    await broker.close();
    throw err;
  });
  log.info({ kafka, http: http.url, advertised: broker.advertised, dataDir: config.dataDir, clusterId: broker.clusterId }, 'floe node ready');
  let closed: Promise<void> | null = null;
  return {
    broker,
    tables,
    kafka,
    http: { host: http.host, port: http.port, url: http.url },
    close() {
      closed ??= (async () => {
        // Functions leave their groups first: if this broker coordinates a group, the leave
        // must still reach it over the Kafka listener, or peers wait a session timeout.
        await functions.close();
        // HTTP consumer instances leave their groups over the Kafka wire in a cluster, too.
        await http.close();
        broker.closing = true;
        await server.close(10_000);
        // Checkpoint so the next start loads snapshots instead of replaying changelogs.
        await tables.close({ checkpoint: true });
        await broker.close();
      })();
      return closed;
    },
  };
}
