/** A writer or coordinator acted on a lease it no longer holds; maps to NOT_LEADER_OR_FOLLOWER. */
export class LeaseLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeaseLostError';
  }
}
