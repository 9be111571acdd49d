// Client commands of the `floe` CLI (rpk-style). main.ts calls registerClientCommands(program).
import type { Command } from 'commander';
import { addGlobalBrokers } from './common.js';
import { registerClusterCommands } from './cluster.js';
import { registerConsumeCommand } from './consume.js';
import { registerFnCommands } from './fn.js';
import { registerGroupCommands } from './group.js';
import { registerProduceCommand } from './produce.js';
import { registerTopicCommands } from './topic.js';
import { registerTableCommands } from './table.js';

/**
 * Adds `topic`, `produce` and `consume`, and a program-level -X/--brokers unless main.ts already
 * has one. Each leaf command also takes -X, so it may come before or after the subcommand.
 */
export function registerClientCommands(program: Command): void {
  addGlobalBrokers(program);
  registerTopicCommands(program);
  registerProduceCommand(program);
  registerConsumeCommand(program);
  registerTableCommands(program);
  registerFnCommands(program);
  registerGroupCommands(program);
  registerClusterCommands(program);
}
