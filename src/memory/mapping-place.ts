import type { RemoteRegion } from './remote.js';

const EMPTY = new Uint8Array(0);

/** Where an IOVA is mapped, as `IoAddressSpace.locate` reports it (a reusable, caller-owned record). */
export class MappingPlace {
  /** The remote region behind the IOVA, or null for ordinary memory. */
  region: RemoteRegion | null = null;
  /** Ordinary memory: its bytes (empty for a remote region). */
  backing: Uint8Array = EMPTY;
  /** Ordinary memory: offset in `backing` of IOVA 0 (the mapping's memory offset − its IOVA). */
  delta = 0;
  /** First IOVA after the extent holding the IOVA. */
  end = 0;
}
