/**
 * Guest memory: one flat byte store backed by an `ArrayBuffer` or a `SharedArrayBuffer`.
 *
 * An embedder may bring its own buffer (for example the RAM of its machine model) or let the
 * library allocate one. Address spaces (`IoAddressSpace`) map IOVA pages onto byte offsets of a
 * `GuestMemory`; DMA then works directly on `bytes`.
 */
export class GuestMemory {
  /** The backing buffer. */
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  /** A byte view over the whole buffer (the object address spaces hand out in DMA runs). */
  readonly bytes: Uint8Array;
  /** A little-endian capable view over the whole buffer. */
  readonly view: DataView;
  /** Size in bytes. */
  readonly size: number;

  /**
   * Wraps `source` when it is a buffer, or allocates a zero-filled buffer of `source` bytes
   * (a `SharedArrayBuffer` when `shared` is true).
   */
  constructor(source: number | ArrayBuffer | SharedArrayBuffer, shared = false) {
    if (typeof source === 'number') {
      if (!Number.isSafeInteger(source) || source < 0) {
        throw new RangeError(`guest memory size ${source} is not a non-negative integer`);
      }
      this.buffer = shared ? new SharedArrayBuffer(source) : new ArrayBuffer(source);
    } else {
      this.buffer = source;
    }
    this.bytes = new Uint8Array(this.buffer);
    this.view = new DataView(this.buffer);
    this.size = this.bytes.length;
  }
}
