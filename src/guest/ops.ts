/**
 * The typed operations: what a caller passes (one spec shape per operation, also the batch-item
 * shape) and what each resolves to. Addresses are IOVAs of the guest's memory, sizes in bytes.
 */

/** DIF block sizes (DIF Flags bits 1:0). */
export type DifBlockSize = 512 | 520 | 4096 | 4104;

/** The DIF parameters of a protected stream being generated (DIF_INS, the destination of DIF_UPDT). */
export interface DifOptions {
  /** Data bytes per block (default 512). For DIF_UPDT the source's value applies to both sides. */
  readonly blockSize?: DifBlockSize;
  /** Reference tag of the first block (default 0). */
  readonly refTag?: number;
  /** Application tag of the first block (default 0). */
  readonly appTag?: number;
  /** Application tag bits forced to 0 (generation) or not checked (checking) (default 0). */
  readonly appTagMask?: number;
  /** Same reference tag for every block (default: incrementing). */
  readonly refTagFixed?: boolean;
  /** Incrementing application tag (default: fixed). */
  readonly appTagIncrementing?: boolean;
  /** Guard CRC starts from 0xFFFF (DIF Flags bit 2; default false). For DIF_UPDT the source's value applies. */
  readonly guardSeedOnes?: boolean;
  /** Guard CRC complemented (DIF Flags bit 3; default false). For DIF_UPDT the source's value applies. */
  readonly guardInverted?: boolean;
}

/** The DIF parameters of a protected stream being checked (DIF_CHECK, DIF_STRP, the source of DIF_UPDT). */
export interface DifCheckOptions extends DifOptions {
  /** Check the guard (default true). */
  readonly guardCheck?: boolean;
  /** Check the reference tag (default true). */
  readonly refTagCheck?: boolean;
  /** Blocks whose tags are all ones are skipped: `app` (app tag 0xFFFF), `app-ref` (and ref all ones), `all` (whole tuple), `all-error` (whole tuple reported as an error) (default none). */
  readonly fDetect?: 'none' | 'app' | 'app-ref' | 'all' | 'all-error';
}

/** The destination of DIF_UPDT: new tags, or the source's passed through. */
export interface DifUpdateDest extends DifOptions {
  /** Copy the source guard (default false: recompute). */
  readonly passGuard?: boolean;
  /** Copy the source application tag. */
  readonly passAppTag?: boolean;
  /** Copy the source reference tag. */
  readonly passRefTag?: boolean;
}

/**
 * The CRC operation flags of CRCGEN and COPY_CRC (dsa-operations.md §2.2, §12.1). Both default to
 * false: the standard CRC-32C (seed inverted in, result inverted out, data bytes reflected). Seed
 * chaining holds in every combination: pass a result as the next call's seed with the same flags.
 */
export interface CrcOptions {
  /** Op flag 17: the seed is bit-reversed in and the result bit-reversed out instead of both being inverted. */
  readonly bypassInversion?: boolean;
  /** Op flag 18: each data byte enters with bit 7 as its most significant bit (not reflected). */
  readonly bypassDataReflection?: boolean;
}

/** An 8-byte pattern: a bigint (stored little-endian) or 8 bytes in memory order. */
export type Pattern = bigint | Uint8Array;

/** One operation, as a batch item (and the arguments of the typed methods). */
export type OpSpec = (
  | { readonly op: 'memmove'; readonly dst: number; readonly src: number; readonly size: number }
  | { readonly op: 'fill'; readonly dst: number; readonly size: number; readonly pattern: Pattern }
  | { readonly op: 'compare'; readonly src1: number; readonly src2: number; readonly size: number }
  | { readonly op: 'comparePattern'; readonly src: number; readonly size: number; readonly pattern: Pattern }
  | ({ readonly op: 'crc32c'; readonly src: number; readonly size: number; readonly seed?: number } & CrcOptions)
  | ({ readonly op: 'copyCrc'; readonly dst: number; readonly src: number; readonly size: number; readonly seed?: number } & CrcOptions)
  | { readonly op: 'dualcast'; readonly dst1: number; readonly dst2: number; readonly src: number; readonly size: number }
  | { readonly op: 'createDelta'; readonly original: number; readonly modified: number; readonly size: number; readonly record: number; readonly maxRecordSize: number }
  | { readonly op: 'applyDelta'; readonly dst: number; readonly record: number; readonly recordSize: number; readonly size: number }
  | { readonly op: 'difCheck'; readonly src: number; readonly size: number; readonly dif?: DifCheckOptions }
  | { readonly op: 'difInsert'; readonly dst: number; readonly src: number; readonly size: number; readonly dif?: DifOptions }
  | { readonly op: 'difStrip'; readonly dst: number; readonly src: number; readonly size: number; readonly dif?: DifCheckOptions }
  | { readonly op: 'difUpdate'; readonly dst: number; readonly src: number; readonly size: number; readonly source?: DifCheckOptions; readonly dest?: DifUpdateDest }
) & {
  /** Batch items only: wait for every earlier item, and be abandoned if one failed (Fence). */
  readonly fence?: boolean;
};

/** The operation names. */
export type OpName = OpSpec['op'];

/** What every completed operation reports. */
export interface Completion {
  /** Final completion status (0x01 success; 0x09 DIF error for the DIF operations). */
  readonly status: number;
  /** Descriptors submitted for it: 1, plus one per resumption after a page fault. */
  readonly submissions: number;
  /** Page faults resolved by the fault hook on the way. */
  readonly faults: number;
}

/** COMPARE / COMPVAL. */
export interface CompareResult extends Completion {
  /** The buffers (or buffer and pattern) are equal. */
  readonly equal: boolean;
  /** Offset of the first differing byte, −1 when equal. */
  readonly offset: number;
}

/** CRCGEN / COPY_CRC. */
export interface CrcResult extends Completion {
  /** The CRC-32C, under the call's {@link CrcOptions} (seed chaining: pass it as the next call's seed, with the same options). */
  readonly crc: number;
}

/** CR_DELTA. */
export interface DeltaResult extends Completion {
  /** 0 no difference, 1 all differences recorded, 2 the record overflowed. */
  readonly result: 0 | 1 | 2;
  /** Bytes of delta record written (10 per entry). */
  readonly recordSize: number;
  /** With result 2: bytes compared before the first difference that did not fit; else the size. */
  readonly bytesCompared: number;
}

/** DIF_CHECK, DIF_INS, DIF_STRP, DIF_UPDT. */
export interface DifResult extends Completion {
  /** Every block passed its checks (always true for DIF_INS). */
  readonly ok: boolean;
  /** DIF status of the failing block (0x01 guard, 0x02 app tag, 0x04 ref tag, 0x08 all-F), 0 when ok. */
  readonly difStatus: number;
  /** Index of the failing block, −1 when ok. */
  readonly failedBlock: number;
  /** Blocks processed completely. */
  readonly blocks: number;
}

/** What each operation resolves to, by operation name. */
export interface OpResults {
  /** `memmove`. */
  memmove: Completion;
  /** `fill`. */
  fill: Completion;
  /** `compare`. */
  compare: CompareResult;
  /** `comparePattern`. */
  comparePattern: CompareResult;
  /** `crc32c`. */
  crc32c: CrcResult;
  /** `copyCrc`. */
  copyCrc: CrcResult;
  /** `dualcast`. */
  dualcast: Completion;
  /** `createDelta`. */
  createDelta: DeltaResult;
  /** `applyDelta`. */
  applyDelta: Completion;
  /** `difCheck`. */
  difCheck: DifResult;
  /** `difInsert`. */
  difInsert: DifResult;
  /** `difStrip`. */
  difStrip: DifResult;
  /** `difUpdate`. */
  difUpdate: DifResult;
}

/** Any operation's result. */
export type OpResult = OpResults[OpName];

/** BATCH. */
export interface BatchResult extends Completion {
  /** Per item, in order: its result, or the error it ended with (abandoned items after a fenced failure included). */
  readonly results: readonly (OpResult | Error)[];
  /** Items that completed without an error. */
  readonly succeeded: number;
}
