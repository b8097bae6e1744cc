/**
 * What a descriptor is about to reach, told to an address space ahead of time (`AddressSpace.prefetch`):
 * when a descriptor must wait for memory reached only by messages, the engine names its completion
 * record and every address operand of its operation (dsa-operations.md §1.2, §6.1), so all of them are
 * fetched in one round of answers rather than one round per operand. A hint only: lengths are what the
 * operation may touch at most (an over-estimate costs a larger fetch, an under-estimate a later one).
 */
import type { AddressSpace, DmaRun } from '../../memory/index.js';
import { CR_SIZE } from '../spec/completion-record.js';
import { Desc } from '../spec/descriptor.js';
import { Flag } from '../spec/flags.js';
import { Len, OP_SPECS, type OpSpec, SLOT_OFFSETS } from './op-table.js';

const TWO32 = 0x1_0000_0000;
/** The smallest DIF block (512 bytes) carries the most tuples per byte. */
const DIF_MIN_BLOCK = 512;
const DIF_TUPLE = 8;

const SPECS: readonly (OpSpec | undefined)[] = (() => {
  const t: (OpSpec | undefined)[] = new Array<OpSpec | undefined>(256).fill(undefined);
  for (const s of OP_SPECS) t[s.opcode] = s;
  return t;
})();

/** Bytes an operand of length kind `kind` may span, from the descriptor's own fields. */
function operandLength(kind: number, view: DataView, base: number, size: number): number {
  switch (kind) {
    case Len.TRANSFER:
    case Len.DIF_STRIPPED:
      return size;
    case Len.MAX_DELTA:
      return view.getUint32(base + Desc.MAX_DELTA_SIZE, true);
    case Len.DELTA:
      return view.getUint32(base + Desc.DELTA_SIZE, true);
    case Len.DIF_EXPANDED:
      return size + Math.ceil(size / DIF_MIN_BLOCK) * DIF_TUPLE;
    case Len.SEED:
      return 8;
    case Len.LIST:
      return 64 * size;
    default:
      return 1;
  }
}

/** Hints `space` at the `length` bytes at the address in descriptor field `field` (ignored at or above 2^53). */
function hint(space: AddressSpace & Required<Pick<AddressSpace, 'prefetch'>>, view: DataView, base: number, field: number, length: number, run: DmaRun): void {
  const lo = view.getUint32(base + field, true);
  const hi = view.getUint32(base + field + 4, true);
  if (hi >= 0x200000 || !(length > 0)) return;
  space.prefetch(hi * TWO32 + lo, length, run);
}

/** Tells `space` what the descriptor at `view[base..]` will reach: its record, then its operands. */
export function prefetchDescriptor(space: AddressSpace | null, view: DataView, base: number, run: DmaRun): void {
  if (space === null || space.prefetch === undefined) return;
  const s = space as AddressSpace & Required<Pick<AddressSpace, 'prefetch'>>;
  const word = view.getUint32(base + Desc.FLAGS, true);
  const flags = word & 0xffffff;
  if ((flags & Flag.CRAV) !== 0) hint(s, view, base, Desc.CR_ADDR, CR_SIZE, run);
  const spec = SPECS[word >>> 24];
  if (spec === undefined) return;
  const size = view.getUint32(base + Desc.XFER_SIZE, true);
  for (const o of spec.operands) {
    if (o.when !== 0 && (flags & o.when) === 0) continue;
    hint(s, view, base, SLOT_OFFSETS[o.slot] as number, operandLength(o.length, view, base, size), run);
  }
}
