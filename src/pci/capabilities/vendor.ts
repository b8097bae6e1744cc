/** Vendor-specific capability (ID 0x09): a length byte and vendor-defined bytes. */
import { CapabilityBase } from '../capability.js';
import type { ConfigSpace } from '../config-space.js';
import { CapabilityId, VENDOR_CAP_LENGTH } from '../spec.js';

/**
 * Vendor-specific: byte 2 holds the length (header included); the body bytes are read-only unless
 * a per-byte write mask is given.
 */
export class VendorCapability extends CapabilityBase {
  /** {@inheritDoc Capability.id} */
  readonly id = CapabilityId.VENDOR_SPECIFIC;
  /** {@inheritDoc Capability.extended} */
  readonly extended = false;
  /** {@inheritDoc Capability.length} */
  readonly length: number;
  private readonly body: Uint8Array;
  private readonly writable: Uint8Array;

  /**
   * @param body vendor bytes after the 3-byte header (copied)
   * @param writable optional per-byte write mask for `body` (same length)
   */
  constructor(body: Uint8Array, writable?: Uint8Array) {
    super();
    if (body.length + 3 > 0xc0) throw new Error(`vendor-specific capability of ${body.length + 3} bytes does not fit in standard space`);
    if (writable !== undefined && writable.length !== body.length) {
      throw new Error(`vendor-specific capability: write mask has ${writable.length} bytes for a ${body.length}-byte body`);
    }
    this.length = body.length + 3;
    this.body = body.slice();
    this.writable = writable === undefined ? new Uint8Array(body.length) : writable.slice();
  }

  /** Defines the registers after the header: reset values and guest masks. */
  protected define(space: ConfigSpace, offset: number): void {
    space.init(offset + VENDOR_CAP_LENGTH, 1, this.length);
    for (let i = 0; i < this.body.length; i++) space.init(offset + 3 + i, 1, this.body[i] as number, this.writable[i] as number);
  }
}
