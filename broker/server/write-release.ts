/**
 * Response buffers that must be handed back (e.g. to a BufferPool) once the socket no longer
 * needs them. The connection calls the hook after the write of that exact Buffer object
 * finished or failed; a response that is never written never calls it.
 */
const hooks = new WeakMap<Buffer, () => void>();

export function releaseAfterWrite(buf: Buffer, release: () => void): void {
  hooks.set(buf, release);
}

/** Removes and returns the hook of `buf`, if any. */
export function takeReleaseHook(buf: Buffer): (() => void) | undefined {
  const hook = hooks.get(buf);
  if (hook !== undefined) hooks.delete(buf);
  return hook;
}
