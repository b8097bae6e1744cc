/**
 * The MEMMOVE lane's rule: what the engine must see in a descriptor and its submission before it runs
 * the descriptor through `DescriptorEngine`'s dedicated MEMMOVE code instead of the ordered path
 * (`run`: checks #1–#14 rule by rule in `checks.ts`, the operation's handler, `complete`). Every field
 * is derived from the compiled MEMMOVE row of `CompiledOps` — itself compiled from `OP_SPECS` — so the
 * op table stays the only place a rule is written: the lane proves, from the same rows, that the
 * ordered path would pass every check, run the single-run copy of `execMemmove` and write a plain
 * success record, and then does exactly that. Anything it cannot prove (another flag pattern, a
 * reserved bit, an out-of-range size, an overlap, a CR address the ordered path discards) is left to
 * the ordered path before any side effect. test/dsa/engine-lane.test.ts runs both on the same
 * descriptors and compares memory, records, statuses, reports and translations.
 */
import type { EngineCaps } from '../spec/caps.js';
import { type CompiledOps, Operand, Special } from './compiled-ops.js';
import { Flag } from '../spec/flags.js';
import { Len, SizeRule, Slot, SLOT_OFFSETS } from './op-table.js';
import { Opcode } from '../spec/opcodes.js';

/** The lane's rule (numbers only, one shape; `want` = -1 when the lane is off for these capabilities). */
export class MemmoveLane {
  /**
   * Bits of descriptor bytes 4–7 (flags and opcode, as one little-endian u32) the lane looks at: the
   * flags the MEMMOVE row's fast pre-check requires clear or set (`OpRow.fastMask`), the opcode, and
   * the flags whose rules depend on the submission or call embedder code — Fence, Block on Fault,
   * Request Completion Interrupt, CRAV, and the cache-control bit that asks for a destination
   * readback.
   */
  mask = 0;
  /** What those bits must be: the opcode, the row's required flags, CRAV; -1 (never matched) when off. */
  want = -1;
  /** Reserved-bit masks of descriptor words 4–15 (little-endian u32 read as i32), from the row. */
  m4 = 0;
  /** Word 5. */
  m5 = 0;
  /** Word 6. */
  m6 = 0;
  /** Word 7. */
  m7 = 0;
  /** Word 8. */
  m8 = 0;
  /** Word 9 (bytes 36–37, the interrupt handle, are reserved without RCI, which the lane requires clear). */
  m9 = 0;
  /** Word 10. */
  m10 = 0;
  /** Word 11. */
  m11 = 0;
  /** Word 12. */
  m12 = 0;
  /** Word 13. */
  m13 = 0;
  /** Word 14. */
  m14 = 0;
  /** Word 15. */
  m15 = 0;
  /** 1 when check #14 applies: the source and the destination must not overlap (the row's overlap pair). */
  overlapCheck = 0;
  /**
   * 1 when overlapping copies are supported: `execMemmove` copies downwards when the destination
   * starts inside the source, which the lane leaves to the ordered path.
   */
  descending = 0;
  /** GENCAP maximum transfer shift (check #8 uses the smaller of it and the WQ's). */
  maxTransferShift = 0;
}

/**
 * Derives the lane's rule for `caps` from the compiled MEMMOVE row. The lane is off (`want` = -1)
 * unless the row has exactly the shape the lane's code executes: MEMMOVE enabled with a fast
 * pre-check, the plain transfer-size rule, no operation-specific check, no conditionally reserved
 * field, the source at slot A (bytes 16–23) and the destination at slot B (bytes 24–31), both always
 * present and as long as the transfer, and at most the one overlap pair (A, B).
 */
export function compileMemmoveLane(ops: CompiledOps, caps: EngineCaps): MemmoveLane {
  const lane = new MemmoveLane();
  const row = ops.rows[Opcode.MEMMOVE]!;
  if (row.enabled === 0 || row.fastWant === -1 || row.size !== SizeRule.TRANSFER || row.special !== Special.NONE) return lane;
  if (row.condEnd !== row.condStart) return lane;
  const operand = (i: number, slot: number): boolean => {
    const p = ops.operands[row.operandStart + i]!;
    return (p & Operand.SLOT) === slot && (p & Operand.WHEN) === 0 && ((p >>> Operand.LEN_SHIFT) & 7) === Len.TRANSFER &&
      ((p >>> Operand.FIELD_SHIFT) & 63) === SLOT_OFFSETS[slot];
  };
  if (row.operandEnd - row.operandStart !== 2 || !operand(0, Slot.A) || !operand(1, Slot.B)) return lane;
  const pairs = row.overlapEnd - row.overlapStart;
  if (pairs > 1) return lane;
  if (pairs === 1) {
    const a = ops.overlapA[row.overlapStart]!;
    const b = ops.overlapB[row.overlapStart]!;
    if (!((a === Slot.A && b === Slot.B) || (a === Slot.B && b === Slot.A))) return lane;
  }
  // Destination readback: the cache-control bit the ordered path's `readback` looks at.
  const readback = Flag.CC2;
  const open = Flag.FENCE | Flag.BOF | Flag.RCI | Flag.CRAV | readback;
  const required = row.fastWant;
  if ((required & (Flag.FENCE | Flag.BOF | Flag.RCI | readback)) !== 0) return lane;
  lane.mask = ((row.fastMask | open) & 0xffffff) | (0xff << 24);
  lane.want = (required | Flag.CRAV | (Opcode.MEMMOVE << 24)) | 0;
  lane.m4 = row.m4;
  lane.m5 = row.m5;
  lane.m6 = row.m6;
  lane.m7 = row.m7;
  lane.m8 = row.m8;
  lane.m9 = row.m9 | 0xffff; // the interrupt handle (reserved without RCI)
  lane.m10 = row.m10;
  lane.m11 = row.m11;
  lane.m12 = row.m12;
  lane.m13 = row.m13;
  lane.m14 = row.m14;
  lane.m15 = row.m15;
  lane.overlapCheck = pairs;
  lane.descending = caps.overlapCopy ? 1 : 0;
  lane.maxTransferShift = caps.maxTransferShift;
  return lane;
}
