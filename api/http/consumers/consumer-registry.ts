// Live HTTP consumer instances by group and id. Instances not used for `idleTimeoutMs` are
// deleted (they leave their group), like the REST proxy's consumer.instance.timeout.ms.
import { randomUUID } from 'node:crypto';
import type { Broker } from '../../../broker/core/broker.js';
import { InProcessGroupTransport, type GroupTransport } from '../../../broker/client/group/transport.js';
import { WireGroupTransport } from '../../../broker/client/group/wire-transport.js';
import { conflict, notFound } from '../errors.js';
import { ConsumerInstance, type ConsumerSettings } from './consumer-instance.js';

export class ConsumerRegistry {
  private readonly groups = new Map<string, Map<string, ConsumerInstance>>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly broker: Broker,
    readonly idleTimeoutMs = 300_000,
  ) {
    this.sweeper = setInterval(() => void this.sweep(), Math.min(idleTimeoutMs, 30_000));
    this.sweeper.unref();
  }

  get size(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.size;
    return n;
  }

  create(groupId: string, name: string | undefined, settings: ConsumerSettings, clientHost: string): ConsumerInstance {
    const id = name ?? `consumer-${randomUUID()}`;
    let g = this.groups.get(groupId);
    if (!g) this.groups.set(groupId, (g = new Map()));
    if (g.has(id)) throw conflict(`consumer instance '${id}' already exists in group '${groupId}'`);
    const c = new ConsumerInstance(id, groupId, settings, this.broker, clientHost, this.transport(id));
    g.set(id, c);
    return c;
  }

  /**
   * A single node coordinates every group itself. In a cluster the group's lease may be on any
   * broker, so each instance speaks the Kafka wire (its own connections: a JoinGroup the
   * coordinator holds must not queue other members' heartbeats behind it).
   */
  private transport(id: string): GroupTransport {
    if (this.broker.cluster === null) return new InProcessGroupTransport(this.broker.groups);
    return new WireGroupTransport({ bootstrap: () => this.broker.advertised, clientId: `floe-http-${id}` });
  }

  get(groupId: string, id: string): ConsumerInstance {
    const c = this.groups.get(groupId)?.get(id);
    if (!c) throw notFound(`consumer instance '${id}' of group '${groupId}' does not exist`);
    return c;
  }

  async delete(groupId: string, id: string): Promise<void> {
    const c = this.get(groupId, id);
    this.remove(c);
    await c.close();
  }

  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    const all = [...this.groups.values()].flatMap((g) => [...g.values()]);
    this.groups.clear();
    await Promise.all(all.map((c) => c.close().catch(() => undefined)));
  }

  private remove(c: ConsumerInstance): void {
    const g = this.groups.get(c.groupId);
    g?.delete(c.id);
    if (g?.size === 0) this.groups.delete(c.groupId);
  }

  private async sweep(now = Date.now()): Promise<void> {
    for (const g of [...this.groups.values()]) {
      for (const c of [...g.values()]) {
        if (now - c.lastUsed < this.idleTimeoutMs) continue;
        this.remove(c);
        await c.close().catch(() => undefined);
      }
    }
  }
}
