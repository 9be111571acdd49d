import type { Timer } from './clock.js';
import type { JoinResult, Protocol, SyncResult } from './group-types.js';

const EMPTY = Buffer.alloc(0);

/** One member of a classic group, as the coordinator tracks it between requests. */
export class GroupMember {
  assignment: Buffer = EMPTY;
  /** The held JoinGroup request, answered when the rebalance's join phase completes. */
  awaitingJoin: ((r: JoinResult) => void) | null = null;
  /** The held SyncGroup request, answered once the leader's assignment arrives. */
  awaitingSync: ((r: SyncResult) => void) | null = null;
  /** Joined but not yet part of a generation: expires on the new-member timeout. */
  isNew = false;
  /** Session (or new-member) expiry. */
  expiry: Timer | null = null;

  constructor(
    readonly memberId: string,
    readonly groupInstanceId: string | null,
    public clientId: string,
    public clientHost: string,
    public sessionTimeoutMs: number,
    public rebalanceTimeoutMs: number,
    public protocolType: string,
    public protocols: Protocol[],
  ) {}

  metadataFor(protocol: string | null): Buffer {
    if (protocol === null) return EMPTY;
    return this.protocols.find((p) => p.name === protocol)?.metadata ?? EMPTY;
  }

  supports(protocol: string): boolean {
    return this.protocols.some((p) => p.name === protocol);
  }

  /** Same protocols, in the same order, with the same metadata bytes. */
  sameProtocols(protocolType: string, protocols: readonly Protocol[]): boolean {
    if (protocolType !== this.protocolType || protocols.length !== this.protocols.length) return false;
    return protocols.every((p, i) => p.name === this.protocols[i]!.name && p.metadata.equals(this.protocols[i]!.metadata));
  }

  /** Preferred protocol among `candidates`. */
  vote(candidates: ReadonlySet<string>): string | undefined {
    return this.protocols.find((p) => candidates.has(p.name))?.name;
  }
}
