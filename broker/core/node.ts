// One Floe node: the broker state plus its Kafka listener. The HTTP API mounts beside it.
import type { Logger } from 'pino';
import type { BrokerConfig } from '../config/broker-config.js';
import { KafkaServer } from '../server/index.js';
import { RequestDispatcher } from '../handlers/dispatch.js';
import { Broker } from './broker.js';

export interface FloeNode {
  broker: Broker;
  kafka: { host: string; port: number };
  close(): Promise<void>;
}

export async function startNode(config: BrokerConfig, log: Logger): Promise<FloeNode> {
  const broker = await Broker.open(config, log);
  const dispatcher = new RequestDispatcher(broker, log);
  const server = new KafkaServer({
    host: config.kafkaHost,
    port: config.kafkaPort,
    handler: (frame, conn) => dispatcher.dispatch(frame, conn),
    maxRequestBytes: config.socketRequestMaxBytes,
    idleTimeoutMs: config.connectionsMaxIdleMs,
    logger: log,
  });
  const kafka = await server.listen();
  // With port 0 the advertised port is only known now.
  if (!config.advertisedPort) config.advertisedPort = kafka.port;
  await broker.store.registerBroker({ nodeId: config.nodeId, host: broker.advertised.host, port: broker.advertised.port, rack: null });
  log.info({ kafka, advertised: broker.advertised, dataDir: config.dataDir, clusterId: broker.clusterId }, 'floe node ready');
  let closed: Promise<void> | null = null;
  return {
    broker,
    kafka,
    close() {
      closed ??= (async () => {
        broker.closing = true;
        await server.close(10_000);
        await broker.close();
      })();
      return closed;
    },
  };
}
