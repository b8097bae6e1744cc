/**
 * An IOMMU that records every translation the device model makes: each address space attached to a
 * PASID is wrapped so that a translation logs the PASID it was made under and, when it grants
 * access, the backing bytes and range. After each descriptor the fuzzer reads the log to attribute
 * every DMA to the descriptor's owner (and to nobody else), then clears it.
 */
import { type AddressSpace, type DmaRun, Iommu } from '../../src/memory/index.js';

/** The translations made since the last {@link TranslationLog.clear}. */
export class TranslationLog {
  /** PASID of each translation. */
  readonly pasids: number[] = [];
  /** Backing bytes of each granted translation (null: refused, a fault). */
  readonly runs: (Uint8Array | null)[] = [];
  /** Offset in the backing bytes. */
  readonly offsets: number[] = [];
  /** Bytes granted (0: a fault). */
  readonly lengths: number[] = [];
  /** Whether the translation was for a write. */
  readonly writes: boolean[] = [];

  /** Number of translations logged. */
  get count(): number {
    return this.pasids.length;
  }

  /** Logs one translation. */
  record(pasid: number, write: boolean, n: number, out: DmaRun): void {
    this.pasids.push(pasid);
    this.writes.push(write);
    this.lengths.push(n);
    this.runs.push(n > 0 ? out.bytes : null);
    this.offsets.push(n > 0 ? out.offset : 0);
  }

  /** Forgets everything. */
  clear(): void {
    this.pasids.length = 0;
    this.runs.length = 0;
    this.offsets.length = 0;
    this.lengths.length = 0;
    this.writes.length = 0;
  }
}

/** An address space that logs each translation made through it under the PASID it is attached to. */
class RecordingSpace implements AddressSpace {
  constructor(
    private readonly inner: AddressSpace,
    private readonly pasid: number,
    private readonly log: TranslationLog,
  ) {}

  translate(iova: number, length: number, write: boolean, out: DmaRun): number {
    const n = this.inner.translate(iova, length, write, out);
    this.log.record(this.pasid, write, n, out);
    return n;
  }
}

/** The IOMMU the fuzzer gives the DSA model: every attached space records into {@link log}. */
export class RecordingIommu extends Iommu {
  /** Every translation since the fuzzer last cleared it. */
  readonly log = new TranslationLog();

  /** Attaches `space` to `pasid`, wrapped so that its translations are logged. */
  override attach(pasid: number, space: AddressSpace): void {
    super.attach(pasid, new RecordingSpace(space, pasid, this.log));
  }
}
