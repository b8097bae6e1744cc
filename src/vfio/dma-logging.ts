/**
 * DMA logging of one device handle (features DMA_LOGGING_START / _STOP / _REPORT, `vfio-uapi.md` §7.2,
 * §9.3): the checks of each call, in the kernel's order, over a `DirtyLog` the handle installs in the
 * address space of the IOAS it is attached to — the log lives where the device's DMA happens, so every
 * path that writes guest memory marks it. Also the inline byte forms vfio-user carries (`{iova, length}`
 * ranges and the bitmap after the fixed fields).
 */
import { DirtyLog, type DirtyRange, IOVA_LIMIT, PAGE_SIZE } from '../memory/index.js';
import { VfioError } from './errors.js';

/** Most ranges one START takes (the kernel's LOG_MAX_RANGES). */
export const DMA_LOGGING_MAX_RANGES = 256;
/** Fixed part of the START payload (`page_size u64, num_ranges u32, reserved u32`). */
export const DMA_LOGGING_START_SIZE = 16;
/** Fixed part of the REPORT payload (`iova u64, length u64, page_size u64`). */
export const DMA_LOGGING_REPORT_SIZE = 24;
/** One inline range (`iova u64, length u64`). */
export const DMA_LOGGING_RANGE_SIZE = 16;

const U64 = 2n ** 64n;
const LIMIT = BigInt(IOVA_LIMIT);

/** A request to start logging: the granularity asked for and the ranges. */
export interface DmaLoggingStart {
  /** Page size asked for (a power of two; rounded up to 4096). */
  readonly pageSize: bigint | number;
  /** The ranges (1..256, aligned to `pageSize`, disjoint). */
  readonly ranges: readonly { readonly iova: bigint | number; readonly length: bigint | number }[];
}

/** A report request. */
export interface DmaLoggingReport {
  /** First IOVA of the report. */
  readonly iova: bigint | number;
  /** Length in bytes. */
  readonly length: bigint | number;
  /** Bytes per bitmap bit (a power of two ≥ 4096). */
  readonly pageSize: bigint | number;
}

const big = (v: bigint | number): bigint => (typeof v === 'bigint' ? v : Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : -1n);
const isPow2 = (v: bigint): boolean => v > 0n && (v & (v - 1n)) === 0n;

/** Bytes of the bitmap a report of `length` bytes at `pageSize` needs (whole u64 words). */
export function dmaLoggingBitmapBytes(length: number, pageSize: number): number {
  return Math.ceil(Math.ceil(length / pageSize) / 64) * 8;
}

/**
 * Checks a START (kernel order): page size 0 or not a power of two → EINVAL [library choice: the
 * kernel hands it to the driver]; no range → EINVAL; more than 256 → E2BIG; then per range, in order:
 * iova or length not aligned to the page size, or length 0 [library choice] → EINVAL; end past 2^64, or
 * past the library's IOVA aperture (2^53) → EOVERFLOW; overlap with an earlier range → EINVAL. Returns
 * the page size used (at least 4096) and a fresh log of the ranges.
 */
export function checkDmaLoggingStart(req: DmaLoggingStart): { readonly pageSize: number; readonly log: DirtyLog } {
  const ps = big(req.pageSize);
  if (!isPow2(ps)) throw new VfioError('EINVAL', `DMA_LOGGING_START: page size ${String(req.pageSize)} is not a power of two`);
  const n = req.ranges.length;
  if (n === 0) throw new VfioError('EINVAL', 'DMA_LOGGING_START: no range');
  if (n > DMA_LOGGING_MAX_RANGES) throw new VfioError('E2BIG', `DMA_LOGGING_START: ${n} ranges, at most ${DMA_LOGGING_MAX_RANGES}`);
  const seen: DirtyRange[] = [];
  for (let i = 0; i < n; i++) {
    const r = req.ranges[i] as DmaLoggingStart['ranges'][number];
    const iova = big(r.iova);
    const length = big(r.length);
    const where = `DMA_LOGGING_START: range ${i}`;
    if (iova < 0n || length <= 0n || iova % ps !== 0n || length % ps !== 0n) throw new VfioError('EINVAL', `${where} is empty or not aligned to the page size`);
    const end = iova + length;
    if (end > U64 || end > LIMIT) throw new VfioError('EOVERFLOW', `${where} ends past the IOVA aperture`);
    const a = Number(iova);
    const b = Number(end);
    if (seen.some((s) => s.iova < b && a < s.iova + s.length)) throw new VfioError('EINVAL', `${where} overlaps another range`);
    seen.push({ iova: a, length: b - a });
  }
  return { pageSize: Math.max(PAGE_SIZE, Number(ps)), log: new DirtyLog(seen) };
}

/**
 * Checks a REPORT: page size below 4096 or not a power of two → EINVAL; length 0 → EINVAL [library
 * choice]; end past 2^64 or past the IOVA aperture → EOVERFLOW. Returns the numbers.
 */
export function checkDmaLoggingReport(req: DmaLoggingReport): { readonly iova: number; readonly length: number; readonly pageSize: number } {
  const ps = big(req.pageSize);
  if (ps < BigInt(PAGE_SIZE) || !isPow2(ps)) throw new VfioError('EINVAL', `DMA_LOGGING_REPORT: page size ${String(req.pageSize)} is below 4096 or not a power of two`);
  const iova = big(req.iova);
  const length = big(req.length);
  if (iova < 0n || length < 0n) throw new VfioError('EINVAL', 'DMA_LOGGING_REPORT: iova and length must be u64 values');
  const end = iova + length;
  if (end > U64 || end > LIMIT) throw new VfioError('EOVERFLOW', 'DMA_LOGGING_REPORT: the range ends past the IOVA aperture');
  if (length === 0n) throw new VfioError('EINVAL', 'DMA_LOGGING_REPORT: length 0');
  return { iova: Number(iova), length: Number(length), pageSize: Number(ps > LIMIT ? LIMIT : ps) };
}

/** Decodes an inline START payload (vfio-user form): EINVAL when it is shorter than its `num_ranges` say. */
export function decodeDmaLoggingStart(data: Uint8Array): DmaLoggingStart {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const pageSize = v.getBigUint64(0, true);
  const n = v.getUint32(8, true);
  if (n > DMA_LOGGING_MAX_RANGES) {
    if (!isPow2(pageSize)) throw new VfioError('EINVAL', `DMA_LOGGING_START: page size ${pageSize} is not a power of two`);
    throw new VfioError('E2BIG', `DMA_LOGGING_START: ${n} ranges, at most ${DMA_LOGGING_MAX_RANGES}`);
  }
  if (data.length < DMA_LOGGING_START_SIZE + n * DMA_LOGGING_RANGE_SIZE) {
    throw new VfioError('EINVAL', `DMA_LOGGING_START: ${n} ranges need ${DMA_LOGGING_START_SIZE + n * DMA_LOGGING_RANGE_SIZE} data bytes, ${data.length} given`);
  }
  const ranges: { iova: bigint; length: bigint }[] = [];
  for (let i = 0; i < n; i++) {
    const at = DMA_LOGGING_START_SIZE + i * DMA_LOGGING_RANGE_SIZE;
    ranges.push({ iova: v.getBigUint64(at, true), length: v.getBigUint64(at + 8, true) });
  }
  return { pageSize, ranges };
}

/** Encodes an inline START payload. */
export function encodeDmaLoggingStart(pageSize: number, ranges: readonly DirtyRange[]): Uint8Array {
  const out = new Uint8Array(DMA_LOGGING_START_SIZE + ranges.length * DMA_LOGGING_RANGE_SIZE);
  const v = new DataView(out.buffer);
  v.setBigUint64(0, BigInt(pageSize), true);
  v.setUint32(8, ranges.length, true);
  ranges.forEach((r, i) => {
    v.setBigUint64(DMA_LOGGING_START_SIZE + i * DMA_LOGGING_RANGE_SIZE, BigInt(r.iova), true);
    v.setBigUint64(DMA_LOGGING_START_SIZE + i * DMA_LOGGING_RANGE_SIZE + 8, BigInt(r.length), true);
  });
  return out;
}

/** Encodes an inline REPORT request: the fixed fields and room for the bitmap. */
export function encodeDmaLoggingReport(iova: number, length: number, pageSize: number): Uint8Array {
  const out = new Uint8Array(DMA_LOGGING_REPORT_SIZE + dmaLoggingBitmapBytes(length, pageSize));
  const v = new DataView(out.buffer);
  v.setBigUint64(0, BigInt(iova), true);
  v.setBigUint64(8, BigInt(length), true);
  v.setBigUint64(16, BigInt(pageSize), true);
  return out;
}

/** The dirty units of a report bitmap, as IOVAs (`iova + u·pageSize` for each set bit *u*). */
export function dirtyUnits(bitmap: Uint8Array, iova: number, length: number, pageSize: number): number[] {
  const units = Math.ceil(length / pageSize);
  const out: number[] = [];
  for (let u = 0; u < units; u++) if ((((bitmap[u >>> 3] as number) >>> (u & 7)) & 1) !== 0) out.push(iova + u * pageSize);
  return out;
}
