/**
 * A BAR region of the generic PCI adapter: the device author's access handler, except for the MSI-X
 * table and PBA when they live in this BAR, which the adapter serves from the `MsixCapability`. The
 * dispatch costs one range compare for accesses outside the MSI-X structures; nothing is allocated.
 */
import type { BarInfo, MsixCapability } from '../pci/index.js';
import { configPieceSize } from './config-access.js';
import { VFIO_PAGE_SIZE, VFIO_REGION_INFO_FLAG_MMAP, VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE } from './constants.js';
import type { RegionOps, SparseMmapArea } from './device-ops.js';
import { loadLe, storeLe } from './pci-config-region.js';

/**
 * What a device author supplies for one BAR. Offsets are BAR-relative; the VFIO core has already
 * checked every access against the region size and the declared access sizes.
 *
 * @typeParam M - what `mmap` hands out.
 */
export interface PciBarHandler<M = unknown> {
  /** Fills `buf` (length = access size) from `offset`. Absent: the BAR reads as zeros. */
  read?(offset: number, buf: Uint8Array): void;
  /** Stores `buf` (length = access size) at `offset`. Absent: writes are dropped. */
  write?(offset: number, buf: Uint8Array): void;
  /** The object mapped at `offset` (whole pages inside one sparse area). Required with MMAP. */
  mmap?(offset: number, length: number): M;
  /**
   * Mappable areas; must not cover the MSI-X table or PBA. Absent with MMAP: the whole BAR, or, when
   * the BAR holds the MSI-X table or PBA, every run of whole pages that does not touch them (the
   * sparse areas vfio-pci advertises around them).
   */
  readonly sparseAreas?: readonly SparseMmapArea[];
  /** Allowed read sizes (OR of byte counts, naturally aligned); absent = any length. */
  readonly readSizes?: number;
  /** Allowed write sizes; absent = any length. */
  readonly writeSizes?: number;
  /**
   * Region flags (READ | WRITE | MMAP). Default READ | WRITE, plus MMAP when `mmap` is given. A BAR
   * holding the MSI-X table or PBA is always READ | WRITE.
   */
  readonly flags?: number;
}

type Access = (offset: number, buf: Uint8Array) => void;

const zeros: Access = (_offset, buf) => {
  buf.fill(0);
};
const drop: Access = () => undefined;

const hex = (n: number): string => `0x${n.toString(16)}`;

/** True when [a, a + alen) and [b, b + blen) intersect. */
function overlaps(a: number, alen: number, b: number, blen: number): boolean {
  return a < b + blen && b < a + alen;
}

/**
 * Region 0..5 of a PCI function. Accesses that touch the MSI-X table or PBA are served by the adapter
 * in dword-bounded pieces: table bytes through `readTable`/`writeTable`, PBA bytes through `readPba`
 * (PBA writes are dropped), and any other bytes of such an access read as 0 and drop writes (software
 * must not mix MSI-X structures with other registers in one access). Every other access goes to the
 * author's handler unchanged.
 *
 * @typeParam M - what `mmap` hands out.
 */
export class PciBarRegion<M> implements RegionOps<M> {
  /** BAR size in bytes. */
  readonly size: number;
  /** Region flags. */
  readonly flags: number;
  /** Allowed read sizes (from the handler). */
  readonly readSizes: number | undefined;
  /** Allowed write sizes (from the handler). */
  readonly writeSizes: number | undefined;
  /** Mappable areas (from the handler). */
  readonly sparseAreas: readonly SparseMmapArea[] | undefined;
  private readonly userRead: Access;
  private readonly userWrite: Access;
  private readonly msix: MsixCapability | null;
  private readonly winLo: number;
  private readonly winHi: number;
  private readonly tabLo: number;
  private readonly tabHi: number;
  private readonly pbaLo: number;
  private readonly pbaHi: number;

  /**
   * Serves `bar` with `handler`, and the MSI-X table/PBA of `msix` that this BAR holds. Throws a plain
   * Error for MMAP without an mmap handler, a mappable I/O BAR, or a mappable page that would expose
   * the MSI-X table or PBA.
   */
  constructor(bar: BarInfo, private readonly handler: PciBarHandler<M>, msix: MsixCapability | null) {
    const where = `BAR${bar.index}`;
    const hasTable = msix !== null && msix.tableBar === bar.index;
    const hasPba = msix !== null && msix.pbaBar === bar.index;
    this.msix = hasTable || hasPba ? msix : null;
    this.tabLo = hasTable ? msix.tableOffset : 0;
    this.tabHi = hasTable ? msix.tableOffset + msix.tableSize : 0;
    this.pbaLo = hasPba ? msix.pbaOffset : 0;
    this.pbaHi = hasPba ? msix.pbaOffset + msix.pbaSize : 0;
    // The window spanning both structures: an empty [0, 0) when this BAR holds neither.
    this.winLo = hasTable && hasPba ? Math.min(this.tabLo, this.pbaLo) : hasTable ? this.tabLo : this.pbaLo;
    this.winHi = Math.max(this.tabHi, this.pbaHi);

    const rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
    let flags = handler.flags ?? (rw | (handler.mmap !== undefined ? VFIO_REGION_INFO_FLAG_MMAP : 0));
    if (this.msix !== null) flags |= rw;
    this.size = bar.size;
    this.flags = flags;
    this.readSizes = handler.readSizes;
    this.writeSizes = handler.writeSizes;
    const mappable = (flags & VFIO_REGION_INFO_FLAG_MMAP) !== 0;
    this.sparseAreas = handler.sparseAreas ?? (mappable && this.msix !== null ? this.areasAroundMsix() : undefined);
    this.userRead = handler.read !== undefined ? (o, b) => (handler.read as Access).call(handler, o, b) : zeros;
    this.userWrite = handler.write !== undefined ? (o, b) => (handler.write as Access).call(handler, o, b) : drop;

    if (mappable) {
      if (handler.mmap === undefined) throw new Error(`${where}: MMAP without an mmap handler`);
      if (bar.kind === 'io') throw new Error(`${where}: an I/O BAR cannot be mapped`);
      for (const a of this.sparseAreas ?? [{ offset: 0, size: bar.size }]) this.checkArea(where, a);
    }
  }

  /** The runs of whole pages of the BAR that touch neither the MSI-X table nor the PBA. */
  private areasAroundMsix(): SparseMmapArea[] {
    const page = VFIO_PAGE_SIZE;
    const holes = [[this.tabLo, this.tabHi], [this.pbaLo, this.pbaHi]]
      .filter(([lo, hi]) => (hi as number) > (lo as number))
      .map(([lo, hi]) => [Math.floor((lo as number) / page) * page, Math.ceil((hi as number) / page) * page] as const)
      .sort((a, b) => a[0] - b[0]);
    const areas: SparseMmapArea[] = [];
    let at = 0;
    for (const [lo, hi] of holes) {
      if (lo > at) areas.push({ offset: at, size: lo - at });
      at = Math.max(at, hi);
    }
    const end = Math.floor(this.size / page) * page;
    if (end > at) areas.push({ offset: at, size: end - at });
    return areas;
  }

  /** BAR read: MSI-X structures from the capability, everything else from the author's handler. */
  read(offset: number, buf: Uint8Array): void {
    const len = buf.length;
    if (offset < this.winHi && offset + len > this.winLo && this.touchesMsix(offset, len)) this.msixRead(offset, buf);
    else this.userRead(offset, buf);
  }

  /** BAR write: MSI-X structures to the capability, everything else to the author's handler. */
  write(offset: number, buf: Uint8Array): void {
    const len = buf.length;
    if (offset < this.winHi && offset + len > this.winLo && this.touchesMsix(offset, len)) this.msixWrite(offset, buf);
    else this.userWrite(offset, buf);
  }

  /** The author's mapping of whole pages at `offset`. */
  mmap(offset: number, length: number): M {
    return (this.handler.mmap as (offset: number, length: number) => M).call(this.handler, offset, length);
  }

  private touchesMsix(offset: number, len: number): boolean {
    return (offset < this.tabHi && offset + len > this.tabLo) || (offset < this.pbaHi && offset + len > this.pbaLo);
  }

  private msixRead(offset: number, buf: Uint8Array): void {
    const msix = this.msix as MsixCapability;
    const len = buf.length;
    for (let done = 0; done < len; ) {
      const at = offset + done;
      const n = configPieceSize(at, len - done);
      let v = 0;
      if (at >= this.tabLo && at < this.tabHi) v = msix.readTable(at - this.tabLo, n);
      else if (at >= this.pbaLo && at < this.pbaHi) v = msix.readPba(at - this.pbaLo, n);
      storeLe(buf, done, n, v);
      done += n;
    }
  }

  private msixWrite(offset: number, buf: Uint8Array): void {
    const msix = this.msix as MsixCapability;
    const len = buf.length;
    for (let done = 0; done < len; ) {
      const at = offset + done;
      const n = configPieceSize(at, len - done);
      if (at >= this.tabLo && at < this.tabHi) msix.writeTable(at - this.tabLo, n, loadLe(buf, done, n));
      done += n;
    }
  }

  /** Throws when the whole pages of `area` (the only part that can be mapped) touch the table or PBA. */
  private checkArea(where: string, area: SparseMmapArea): void {
    const lo = Math.ceil(area.offset / VFIO_PAGE_SIZE) * VFIO_PAGE_SIZE;
    const hi = Math.floor((area.offset + area.size) / VFIO_PAGE_SIZE) * VFIO_PAGE_SIZE;
    if (hi <= lo) return;
    const what = `${where}: mappable area {${hex(area.offset)}, ${hex(area.size)}}`;
    if (this.tabHi > this.tabLo && overlaps(lo, hi - lo, this.tabLo, this.tabHi - this.tabLo)) {
      throw new Error(`${what} would map the MSI-X table at ${hex(this.tabLo)}`);
    }
    if (this.pbaHi > this.pbaLo && overlaps(lo, hi - lo, this.pbaLo, this.pbaHi - this.pbaLo)) {
      throw new Error(`${what} would map the MSI-X PBA at ${hex(this.pbaLo)}`);
    }
  }
}
