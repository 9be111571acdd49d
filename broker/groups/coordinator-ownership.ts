// Which node coordinates a group. In a cluster the holder of the group's lease does; a single
// node coordinates every group. The coordinator asks this before touching a group.

export interface CoordinatorNode {
  nodeId: number;
  host: string;
  port: number;
}

export interface CoordinatorOwnership {
  /** The node clients should talk to about `groupId`, or null when none can be named now. */
  coordinatorOf(groupId: string): CoordinatorNode | null;
  /** True while this node may act as the group's coordinator. */
  owns(groupId: string): boolean;
  /**
   * Which uninterrupted spell of ownership this is (the group lease epoch); it changes whenever
   * ownership was lost and taken again, so state kept from an earlier spell can be told apart.
   * Undefined when not owned. Absent: ownership is never interrupted (single node).
   */
  tenure?(groupId: string): number | undefined;
}

/** Single-node ownership: this node coordinates every group. */
export class LocalOwnership implements CoordinatorOwnership {
  constructor(private readonly self: () => CoordinatorNode) {}

  coordinatorOf(): CoordinatorNode {
    return this.self();
  }

  owns(): boolean {
    return true;
  }
}
