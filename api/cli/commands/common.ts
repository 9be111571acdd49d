// Pieces every client command shares: the brokers option, argument parsers, error reporting.
import { Command, InvalidArgumentError, Option } from 'commander';
import { KafkaClient } from '../../../broker/client/kafka-client.js';

export const DEFAULT_BROKERS = '127.0.0.1:9092';

/** No default or env here: either would mask a value given at the other level (program/leaf). */
export function brokersOption(): Option {
  return new Option('-X, --brokers <host:port>', `comma-separated bootstrap brokers (env FLOE_BROKERS, default ${DEFAULT_BROKERS})`);
}

/** Adds the brokers option to a leaf command, so it works after the subcommand too. */
export function withBrokers(cmd: Command): Command {
  return cmd.addOption(brokersOption());
}

/** Makes `floe -X host:port topic list` work, unless main.ts already defines --brokers. */
export function addGlobalBrokers(program: Command): void {
  if (!program.options.some((o) => o.long === '--brokers')) program.addOption(brokersOption());
}

/** The flag (leaf or program level), then FLOE_BROKERS, then the default. */
export function brokersOf(cmd: Command): string {
  const opts = cmd.optsWithGlobals<{ brokers?: string }>();
  return opts.brokers ?? process.env.FLOE_BROKERS ?? DEFAULT_BROKERS;
}

export function intArg(name: string, min: number, max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v: string) => {
    if (!/^-?\d+$/.test(v.trim())) throw new InvalidArgumentError(`${name} must be an integer`);
    const n = Number(v);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be between ${min} and ${max}`);
    return n;
  };
}

/** Collector for repeatable `key=value` options. */
export function keyValue(v: string, prev: Array<[string, string]> = []): Array<[string, string]> {
  const i = v.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError(`expected key=value, got "${v}"`);
  return [...prev, [v.slice(0, i), v.slice(i + 1)]];
}

export function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

/** Turns \t, \n, \r, \\ and \xNN in a command-line string into the characters they name. */
export function unescape(s: string): string {
  return s.replace(/\\(x[0-9a-fA-F]{2}|[tnr0\\])/g, (_, c: string) => {
    switch (c[0]) {
      case 't':
        return '\t';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case '0':
        return '\0';
      case 'x':
        return String.fromCharCode(parseInt(c.slice(1), 16));
      default:
        return '\\';
    }
  });
}

/** Left-aligned columns, like rpk's tables. */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  const all = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join('').trimEnd()).join('\n') + '\n';
}

export function out(s: string): void {
  process.stdout.write(s);
}

/** Marks the command failed with one line on stderr. */
export function reportError(message: string): void {
  process.stderr.write(`floe: ${message}\n`);
  process.exitCode = 1;
}

/**
 * Runs a command body with a connected client, closing it afterwards. Any error becomes one
 * line on stderr and exit code 1.
 */
export async function withClient(cmd: Command, body: (client: KafkaClient) => Promise<void>): Promise<void> {
  let client: KafkaClient | null = null;
  try {
    client = await KafkaClient.connect(brokersOf(cmd));
    await body(client);
  } catch (err) {
    reportError((err as Error).message);
  } finally {
    await client?.close();
  }
}

/** Progress on stderr for long operations: silent for the first second, then once a second. */
export class Progress {
  private readonly started = Date.now();
  private last = 0;
  private shown = false;

  constructor(private readonly render: () => string) {}

  tick(): void {
    const now = Date.now();
    if (now - this.started < 1_000 || now - this.last < 1_000) return;
    this.last = now;
    this.shown = true;
    this.write(false);
  }

  done(): void {
    if (this.shown) this.write(true);
  }

  private write(final: boolean): void {
    const line = this.render();
    if (process.stderr.isTTY) process.stderr.write(`\r${line}\x1b[K${final ? '\n' : ''}`);
    else process.stderr.write(`${line}\n`);
  }
}
