// `floe serve`: one Floe node on ./data (or --data-dir), until SIGTERM/SIGINT.
import type { Command } from 'commander';
import { pino } from 'pino';
import { brokerFlagSpecs, ConfigError, loadBrokerConfig } from '../../broker/config/index.js';

export function registerServe(program: Command): void {
  const cmd = program
    .command('serve')
    .description('run a Floe node (Kafka listener, HTTP API, functions, tables)')
    .option('--config <file>', 'config file (.json or Kafka-style .properties); env FLOE_CONFIG');
  for (const spec of brokerFlagSpecs()) {
    cmd.option(spec.syntax, `${spec.description} (env ${spec.env})`);
  }
  cmd.action(async (opts: Record<string, unknown>) => {
    const { config: configFile, ...flags } = opts;
    let config;
    try {
      config = loadBrokerConfig({ flags, configFile: configFile as string | undefined, onWarning: (m) => process.stderr.write(`floe: warning: ${m}\n`) });
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`floe: ${err.message}\n`);
        process.exit(1);
      }
      throw err;
    }
    const log = pino({ level: config.logLevel, base: { node: config.nodeId } });
    let node;
    try {
      // Loaded here so client commands don't pay for (or depend on) the whole broker.
      const { startNode } = await import('../node.js');
      node = await startNode(config, log);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const where = (e as { address?: string; port?: number }).address ? `${(e as { address?: string }).address}:${(e as { port?: number }).port}` : 'the listen address';
      process.stderr.write(`floe: cannot start: ${e.code === 'EADDRINUSE' ? `${where} is already in use` : e.message}\n`);
      process.exit(1);
    }
    process.stdout.write(`floe: kafka listener on ${node.kafka.host}:${node.kafka.port}, data in ${config.dataDir}\n`);
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down');
      node.close().then(
        () => process.exit(0),
        (err) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}
