#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerServe } from './serve.js';
import { registerClientCommands } from './commands/index.js';

// `floe … | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const program = new Command();
program.name('floe').description('Floe: an event-streaming engine with the Kafka wire protocol at its core').version('0.1.0');
program.exitOverride();
program.configureOutput({ writeErr: (s) => process.stderr.write(s.startsWith('error:') ? `floe: ${s}` : s) });
registerServe(program);
registerClientCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 1);
  process.stderr.write(`floe: ${(err as Error).message}\n`);
  process.exit(1);
}
