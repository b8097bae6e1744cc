/**
 * `struct vfio_irq_set` (20-byte header + data; `vfio-uapi.md` §5.2). DATA_BOOL payloads are `count`
 * bytes; DATA_EVENTFD payloads are `count` s32 trigger handles (−1 = de-assign).
 */
import { needBytes, viewOf } from './bytes.js';

/** Header size and minsz. */
export const VFIO_IRQ_SET_MINSZ = 20;

/** The decoded structure. */
export interface IrqSetStruct {
  /** argsz as found. */
  readonly argsz: number;
  /** Data and action flags. */
  readonly flags: number;
  /** IRQ index. */
  readonly index: number;
  /** First vector. */
  readonly start: number;
  /** Number of vectors. */
  readonly count: number;
  /** The bytes after the header, up to argsz (or the end of the buffer if shorter); a view, not a copy. */
  readonly payload: Uint8Array;
}

/** The fields to encode; `bools` or `handles` become the payload. */
export interface IrqSetFields {
  /** Data and action flags. */
  readonly flags: number;
  /** IRQ index. */
  readonly index: number;
  /** First vector. */
  readonly start: number;
  /** Number of vectors. */
  readonly count: number;
  /** DATA_BOOL bytes. */
  readonly bools?: Uint8Array | readonly number[];
  /** DATA_EVENTFD handles (s32; −1 = de-assign). */
  readonly handles?: readonly number[];
}

/** Encodes header + payload with argsz = 20 + payload bytes. */
export function encodeIrqSet(f: IrqSetFields): Uint8Array {
  const dataBytes = f.handles !== undefined ? 4 * f.handles.length : (f.bools?.length ?? 0);
  const out = new Uint8Array(VFIO_IRQ_SET_MINSZ + dataBytes);
  const v = viewOf(out);
  v.setUint32(0, out.length, true);
  v.setUint32(4, f.flags, true);
  v.setUint32(8, f.index, true);
  v.setUint32(12, f.start, true);
  v.setUint32(16, f.count, true);
  if (f.handles !== undefined) f.handles.forEach((h, i) => v.setInt32(VFIO_IRQ_SET_MINSZ + 4 * i, h, true));
  else if (f.bools !== undefined) out.set(f.bools, VFIO_IRQ_SET_MINSZ);
  return out;
}

/** Decodes the header (EFAULT when shorter than 20 bytes); the payload is a view. */
export function decodeIrqSet(bytes: Uint8Array): IrqSetStruct {
  needBytes(bytes, VFIO_IRQ_SET_MINSZ, 'vfio_irq_set');
  const v = viewOf(bytes);
  const argsz = v.getUint32(0, true);
  const end = Math.max(VFIO_IRQ_SET_MINSZ, Math.min(argsz, bytes.length));
  return {
    argsz,
    flags: v.getUint32(4, true),
    index: v.getUint32(8, true),
    start: v.getUint32(12, true),
    count: v.getUint32(16, true),
    payload: bytes.subarray(VFIO_IRQ_SET_MINSZ, end),
  };
}

/** The first `count` s32 handles of an EVENTFD payload (EFAULT when the payload is shorter). */
export function decodeIrqHandles(payload: Uint8Array, count: number): number[] {
  needBytes(payload, 4 * count, 'vfio_irq_set eventfd data');
  const v = viewOf(payload);
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) out[i] = v.getInt32(4 * i, true);
  return out;
}
