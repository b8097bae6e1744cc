/**
 * The driver's only way to the device: the VFIO device API. {@link GuestVfio} names the calls it uses
 * (a `VfioDevice` has them all; an out-of-process transport can provide them too), and
 * {@link DeviceIo} wraps config-space and BAR0 accesses in little-endian reads and writes over
 * preallocated buffers, so a register access allocates nothing.
 */
import type { DeviceInfo, IrqInfo, IrqSetRequest, RegionInfo } from '../vfio/index.js';
import {
  VFIO_PCI_BAR0_REGION_INDEX, VFIO_PCI_BAR2_REGION_INDEX, VFIO_PCI_CONFIG_REGION_INDEX,
} from '../vfio/index.js';

/** The VFIO device calls the driver makes (a `VfioDevice` satisfies it). */
export interface GuestVfio {
  /** VFIO_DEVICE_GET_INFO. */
  getInfo(): DeviceInfo;
  /** VFIO_DEVICE_GET_REGION_INFO. */
  getRegionInfo(index: number): RegionInfo;
  /** VFIO_DEVICE_GET_IRQ_INFO. */
  getIrqInfo(index: number): IrqInfo;
  /** VFIO_DEVICE_SET_IRQS. */
  setIrqs(req: IrqSetRequest): void;
  /** `pread` of region `index` at `offset`. */
  readRegion(index: number, offset: number, buf: Uint8Array): number;
  /** `pwrite` of region `index` at `offset`. */
  writeRegion(index: number, offset: number, buf: Uint8Array): number;
  /** `mmap` at a region-encoded position (`regionOffset(index) + offset`). */
  mmap(pos: number, length: number, shared?: boolean): unknown;
}

/** Region indices the driver uses. */
export const CONFIG_REGION = VFIO_PCI_CONFIG_REGION_INDEX;
/** BAR0: the registers. */
export const REGISTER_REGION = VFIO_PCI_BAR0_REGION_INDEX;
/** BAR2: the portals. */
export const PORTAL_REGION = VFIO_PCI_BAR2_REGION_INDEX;

/** Config-space and BAR0 accesses of one device, allocation-free. */
export class DeviceIo {
  /** The device. */
  readonly dev: GuestVfio;
  private readonly b1 = new Uint8Array(1);
  private readonly b2 = new Uint8Array(2);
  private readonly b4 = new Uint8Array(4);
  private readonly v2 = new DataView(this.b2.buffer);
  private readonly v4 = new DataView(this.b4.buffer);

  /** Accesses of `dev`. */
  constructor(dev: GuestVfio) {
    this.dev = dev;
  }

  /** Reads 1, 2 or 4 bytes of config space. */
  cfg(offset: number, size: 1 | 2 | 4 = 4): number {
    return this.read(CONFIG_REGION, offset, size);
  }

  /** Writes 1, 2 or 4 bytes of config space. */
  setCfg(offset: number, size: 1 | 2 | 4, value: number): void {
    this.write(CONFIG_REGION, offset, size, value);
  }

  /** Reads a BAR0 dword. */
  r32(offset: number): number {
    return this.read(REGISTER_REGION, offset, 4);
  }

  /** Writes a BAR0 dword. */
  w32(offset: number, value: number): void {
    this.write(REGISTER_REGION, offset, 4, value);
  }

  /** Writes a dword of region `index` (e.g. the MSI-X table in the BAR the capability names). */
  regionW32(index: number, offset: number, value: number): void {
    this.write(index, offset, 4, value);
  }

  /** Reads `out.length` consecutive BAR0 dwords from `offset` (one 4-byte access each, as a driver's readl loop). */
  readDwords(offset: number, out: Uint32Array): Uint32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.r32(offset + 4 * i);
    return out;
  }

  private read(index: number, offset: number, size: 1 | 2 | 4): number {
    if (size === 1) {
      this.dev.readRegion(index, offset, this.b1);
      return this.b1[0] as number;
    }
    if (size === 2) {
      this.dev.readRegion(index, offset, this.b2);
      return this.v2.getUint16(0, true);
    }
    this.dev.readRegion(index, offset, this.b4);
    return this.v4.getUint32(0, true);
  }

  private write(index: number, offset: number, size: 1 | 2 | 4, value: number): void {
    if (size === 1) {
      this.b1[0] = value & 0xff;
      this.dev.writeRegion(index, offset, this.b1);
    } else if (size === 2) {
      this.v2.setUint16(0, value & 0xffff, true);
      this.dev.writeRegion(index, offset, this.b2);
    } else {
      this.v4.setUint32(0, value >>> 0, true);
      this.dev.writeRegion(index, offset, this.b4);
    }
  }
}
