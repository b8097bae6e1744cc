/**
 * Walks the declarative register tables the way the register tests need them: every field of every
 * instance of every register, with its absolute offset and, for wide fields, one entry per dword.
 */
import { BAR0_BLOCKS, type BlockDef, type DsaDevice, type FieldDef, type RegisterDef, resetValue } from '../../src/dsa/index.js';

/** One dword-sized piece of a field in one register instance. */
export interface FieldPiece {
  readonly block: BlockDef;
  readonly reg: RegisterDef;
  readonly field: FieldDef;
  /** Block instance. */
  readonly instance: number;
  /** Byte offset of the dword holding the piece. */
  readonly dwordOffset: number;
  /** Bit shift of the piece in its dword. */
  readonly shift: number;
  /** Mask of the piece (unshifted), restricted to implemented bits. */
  readonly mask: number;
  /** Expected reset value of the piece (unshifted), from the table. */
  readonly reset: number;
  /** Index of the dword inside a wide field (0 otherwise). */
  readonly k: number;
}

const ones = (w: number): number => (w >= 32 ? 0xffffffff : (1 << w) - 1);

/** Every field piece of `dev`'s BAR0, per the tables. Large blocks can be sampled with `maxInstances`. */
export function fieldPieces(dev: DsaDevice, maxInstances = Number.POSITIVE_INFINITY): FieldPiece[] {
  const c = dev.regs.context;
  const out: FieldPiece[] = [];
  for (const block of BAR0_BLOCKS) {
    const n = block.count(c);
    const base = block.base(c);
    const picks = n <= maxInstances ? [...Array(n).keys()] : [0, 1, n - 2, n - 1];
    for (const i of picks) {
      for (const reg of block.registers) {
        for (const f of reg.fieldList) {
          const implemented = f.implemented === undefined ? f.width : Math.min(f.width, f.implemented(c));
          const dwords = f.width > 32 ? f.width / 32 : 1;
          for (let k = 0; k < dwords; k++) {
            const bits = Math.max(0, Math.min(32, implemented - 32 * k, f.width));
            const mask = bits === 0 ? 0 : ones(bits);
            out.push({
              block, reg, field: f, instance: i, k,
              dwordOffset: base + i * block.stride + reg.offset + 4 * ((f.lo >>> 5) + k),
              shift: f.width > 32 ? 0 : f.lo & 31,
              mask,
              reset: (resetValue(f, c, k) & mask) >>> 0,
            });
          }
        }
      }
    }
  }
  return out;
}

/** The value of `p` as software reads it now. */
export function readPiece(dev: DsaDevice, p: FieldPiece): number {
  return ((dev.bar0.read32(p.dwordOffset) >>> p.shift) & p.mask) >>> 0;
}

/** Writes `value` into piece `p` through BAR0, keeping the other bits of its dword as read. */
export function writePiece(dev: DsaDevice, p: FieldPiece, value: number): void {
  const old = dev.bar0.read32(p.dwordOffset);
  const m = (p.mask << p.shift) >>> 0;
  dev.bar0.write32(p.dwordOffset, ((old & ~m) | ((value << p.shift) & m)) >>> 0);
}

/** A readable name of the piece: `WQCFG[3].wq_size`. */
export function pieceName(p: FieldPiece): string {
  return `${p.reg.name}[${p.instance}].${p.field.name}${p.field.width > 32 ? `#${p.k}` : ''}`;
}
