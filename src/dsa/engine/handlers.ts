/** Opcode → operation handler (BATCH is handled by the engine itself, which recurses into elements). */
import type { Frame } from './frame.js';
import { Opcode } from '../spec/opcodes.js';
import { execCflush, execDrain, execNoop } from './ops/basic.js';
import { execCompare, execCompval } from './ops/compare.js';
import { execCopyCrc, execCrcgen } from './ops/crc.js';
import { execApDelta, execCrDelta } from './ops/delta.js';
import { execDifCheck, execDifInsert, execDifStrip, execDifUpdate } from './ops/dif.js';
import { execDualcast } from './ops/dualcast.js';
import { execFill } from './ops/fill.js';
import { execMemmove } from './ops/memmove.js';

/** An operation: runs after the checks passed, fills the CR scratch, returns the status byte. */
export type OpHandler = (f: Frame) => number;

/** Handlers of the non-batch operations, by opcode. */
export const OP_HANDLERS: ReadonlyMap<number, OpHandler> = new Map<number, OpHandler>([
  [Opcode.NOOP, execNoop],
  [Opcode.DRAIN, execDrain],
  [Opcode.MEMMOVE, execMemmove],
  [Opcode.FILL, execFill],
  [Opcode.COMPARE, execCompare],
  [Opcode.COMPVAL, execCompval],
  [Opcode.CR_DELTA, execCrDelta],
  [Opcode.AP_DELTA, execApDelta],
  [Opcode.DUALCAST, execDualcast],
  [Opcode.CRCGEN, execCrcgen],
  [Opcode.COPY_CRC, execCopyCrc],
  [Opcode.DIF_CHECK, execDifCheck],
  [Opcode.DIF_INS, execDifInsert],
  [Opcode.DIF_STRP, execDifStrip],
  [Opcode.DIF_UPDT, execDifUpdate],
  [Opcode.CFLUSH, execCflush],
]);
