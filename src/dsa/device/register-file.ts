/**
 * The BAR0 register file compiled from the declarative tables: one value, write mask, RW1C mask,
 * lock, hook and reset value per dword, so a software access is a few typed-array operations and
 * allocates nothing. The write rule is `v = (v & ~w) | (new & w); v &= ~(new & w1c)` on the bytes
 * written, with `w` emptied while the dword's lock holds.
 */
import { bitMask, type BlockDef, type FieldDef, type Lock, type RegisterDef, resetValue } from '../spec/register-def.js';

/** Dword kinds. */
const KIND_RESERVED = 0;
const KIND_STORAGE = 1;
const KIND_MSIX_TABLE = 2;
const KIND_MSIX_PBA = 3;
/** Dword locks (index into LOCKS + 1). */
const LOCK_NONE = 0;
const LOCKS: readonly Lock[] = ['device-disabled', 'wq-disabled'];

/** Storage the MSI-X table and PBA windows are served from (the PCI MSI-X capability). */
export interface MsixWindow {
  /** Reads 1, 2 or 4 bytes of the table. */
  readTable(offset: number, size: number): number;
  /** Writes 1, 2 or 4 bytes of the table. */
  writeTable(offset: number, size: number, value: number): void;
  /** Reads 1, 2 or 4 bytes of the PBA. */
  readPba(offset: number, size: number): number;
}

/**
 * Called after a software write to a hooked register: `instance` of its block, `offset` of the
 * access inside the register instance, access `size` and the value written (shifted to the access).
 */
export type RegisterWriteHook = (instance: number, offset: number, size: number, value: number) => void;

/** Called before a software read of a register declared `refresh: true`: store its live value now (`instance` of its block). */
export type RegisterRefreshHook = (instance: number) => void;

/** What the owner of a register file supplies, bound once by {@link RegisterFile.connect}. */
export interface RegisterOwner {
  /** Storage of the MSI-X table and PBA windows. */
  readonly window?: MsixWindow;
  /** Write hooks by register name; every register declared `hook: true` needs one. */
  readonly hooks?: Readonly<Record<string, RegisterWriteHook>>;
  /** Refresh hooks by register name; every register declared `refresh: true` needs one. */
  readonly refresh?: Readonly<Record<string, RegisterRefreshHook>>;
  /** Whether fields with `lock` are writable now in block instance `instance` (absent: always). */
  writable?(lock: Lock, instance: number): boolean;
}

interface Placement {
  readonly block: BlockDef;
  readonly base: number;
  readonly count: number;
}

/**
 * The compiled register file of one device, compiled for context `C` (what its tables compute their
 * values from: the model's `RegisterContext`, a vdev's own). Code that only accesses registers takes
 * a `RegisterFile` (of any context).
 */
export class RegisterFile<C = unknown> {
  /** Size of the register space in bytes. */
  readonly size: number;
  /** What the tables were compiled for. */
  readonly context: C;
  /** Dword values (device code may read and write them directly for status fields). */
  readonly value: Uint32Array;
  private readonly wmask: Uint32Array;
  private readonly w1c: Uint32Array;
  /** Bits software or the device may change (RW, RW1C, WO and status fields); the others keep their reset value. */
  private readonly vmask: Uint32Array;
  private resetImage: Uint32Array;
  private readonly preserve: Uint8Array;
  private readonly kind: Uint8Array;
  private readonly hook: Uint16Array;
  private readonly refreshIdx: Uint16Array;
  private readonly lock: Uint8Array;
  private readonly instance: Uint32Array;
  private readonly regBase: Uint32Array;
  /** The blocks compiled (to check a template against). */
  private readonly blocks: readonly BlockDef[];
  private readonly placements: Map<RegisterDef, Placement>;
  private readonly blockPlacements: Map<BlockDef, Placement>;
  private readonly hooked: RegisterDef[];
  private hookFns: RegisterWriteHook[] = [];
  private readonly refreshed: RegisterDef[];
  private refreshFns: RegisterRefreshHook[] = [];
  private window: MsixWindow | null = null;
  private writable: ((lock: Lock, instance: number) => boolean) | null = null;

  /**
   * Compiles `blocks` for `context` into a register space of `size` bytes. Throws a plain `Error`
   * when two registers overlap or a register leaves the space (a table mistake).
   *
   * With `template`, a register file compiled from the same `blocks` and `size` for an equal
   * context (the caller vouches for the context), the compiled tables — masks, locks, hooks, reset
   * image, placements; never changed after compilation — are shared with it instead of compiled
   * again: only the values are this file's own. Devices made by the thousand (virtual devices of one
   * parent) keep one copy of the tables. Throws `RangeError` when the template's blocks or size differ.
   */
  constructor(context: C, blocks: readonly BlockDef<C>[], size: number, template?: RegisterFile<C>) {
    this.context = context;
    this.size = size;
    this.blocks = blocks;
    const n = size >>> 2;
    if (template !== undefined) {
      if (template.blocks !== blocks || template.size !== size) throw new RangeError('register file template compiled from other blocks or for another size');
      this.value = template.resetImage.slice();
      this.wmask = template.wmask;
      this.w1c = template.w1c;
      this.vmask = template.vmask;
      this.resetImage = template.resetImage;
      this.preserve = template.preserve;
      this.kind = template.kind;
      this.hook = template.hook;
      this.refreshIdx = template.refreshIdx;
      this.lock = template.lock;
      this.instance = template.instance;
      this.regBase = template.regBase;
      this.placements = template.placements;
      this.blockPlacements = template.blockPlacements;
      this.hooked = template.hooked;
      this.refreshed = template.refreshed;
      return;
    }
    this.placements = new Map<RegisterDef, Placement>();
    this.blockPlacements = new Map<BlockDef, Placement>();
    this.hooked = [];
    this.refreshed = [];
    this.value = new Uint32Array(n);
    this.wmask = new Uint32Array(n);
    this.w1c = new Uint32Array(n);
    this.vmask = new Uint32Array(n);
    this.resetImage = new Uint32Array(n);
    this.preserve = new Uint8Array(n);
    this.kind = new Uint8Array(n);
    this.hook = new Uint16Array(n);
    this.refreshIdx = new Uint16Array(n);
    this.lock = new Uint8Array(n);
    this.instance = new Uint32Array(n);
    this.regBase = new Uint32Array(n);
    for (const block of blocks) this.compileBlock(block);
    this.value.set(this.resetImage);
  }

  private compileBlock(block: BlockDef<C>): void {
    const count = block.count(this.context);
    const base = block.base(this.context);
    this.blockPlacements.set(block, { block, base, count });
    for (const reg of block.registers) {
      this.placements.set(reg, { block, base, count });
      if (reg.hooked) this.hooked.push(reg);
      if (reg.refreshed) this.refreshed.push(reg);
    }
    for (let i = 0; i < count; i++) {
      for (const reg of block.registers) {
        const at = base + i * block.stride + reg.offset;
        if (at + reg.size > this.size) throw new Error(`register ${reg.name}[${i}] at 0x${at.toString(16)} leaves the ${this.size}-byte space`);
        const first = at >>> 2;
        for (let k = 0; k < reg.size >>> 2; k++) {
          const d = first + k;
          if (this.kind[d] !== KIND_RESERVED) throw new Error(`register ${reg.name}[${i}] overlaps another register at 0x${(d * 4).toString(16)}`);
          this.kind[d] = reg.window === 'msix-table' ? KIND_MSIX_TABLE : reg.window === 'msix-pba' ? KIND_MSIX_PBA : KIND_STORAGE;
          this.regBase[d] = reg.window === undefined ? at : base;
          this.hook[d] = reg.hooked ? this.hooked.indexOf(reg) + 1 : 0;
          this.refreshIdx[d] = reg.refreshed ? this.refreshed.indexOf(reg) + 1 : 0;
          this.preserve[d] = reg.preservedByReset ? 1 : 0;
          this.instance[d] = i;
        }
        for (const f of reg.fieldList) this.compileField(f, first);
      }
    }
  }

  private compileField(f: FieldDef<C>, first: number): void {
    const implemented = f.implemented === undefined ? f.width : Math.min(f.width, f.implemented(this.context));
    const dwords = f.width > 32 ? f.width >>> 5 : 1;
    for (let k = 0; k < dwords; k++) {
      const d = first + (f.lo >>> 5) + k;
      const shift = f.width > 32 ? 0 : f.lo & 31;
      const bits = Math.max(0, Math.min(32, implemented - 32 * k, f.width));
      const mask = (bitMask(bits) << shift) >>> 0;
      this.resetImage[d] = (this.resetImage[d] as number) | ((resetValue(f, this.context, k) << shift) & mask);
      if (f.access === 'RW') this.wmask[d] = (this.wmask[d] as number) | mask;
      if (f.access === 'RW1C') this.w1c[d] = (this.w1c[d] as number) | mask;
      if (f.access !== 'RO' || f.status) this.vmask[d] = (this.vmask[d] as number) | mask;
      if (f.lock !== undefined && mask !== 0) {
        const lk = LOCKS.indexOf(f.lock) + 1;
        if (this.lock[d] !== LOCK_NONE && this.lock[d] !== lk) throw new Error(`field ${f.name}: two locks in one dword`);
        this.lock[d] = lk;
      }
    }
  }

  /**
   * Binds the owner's window storage, write and refresh hooks and lock predicate. Throws a plain
   * `Error` when a hooked register has no write hook or a refreshed register no refresh hook.
   */
  connect(owner: RegisterOwner): void {
    this.window = owner.window ?? null;
    this.hookFns = this.hooked.map((reg) => {
      const h = owner.hooks?.[reg.name];
      if (h === undefined) throw new Error(`register ${reg.name} needs a write hook`);
      return h;
    });
    this.refreshFns = this.refreshed.map((reg) => {
      const h = owner.refresh?.[reg.name];
      if (h === undefined) throw new Error(`register ${reg.name} needs a refresh hook`);
      return h;
    });
    this.writable = owner.writable?.bind(owner) ?? null;
  }

  // ---------------------------------------------------------------- software accesses

  /**
   * Software read of 1, 2 or 4 bytes at a naturally aligned `offset` (reserved space reads 0). A
   * register declared `refresh: true` has its owner's refresh hook called first.
   */
  read(offset: number, size: number): number {
    const d = offset >>> 2;
    const k = this.kind[d];
    if (k === KIND_STORAGE) {
      const r = this.refreshIdx[d] as number;
      if (r !== 0) (this.refreshFns[r - 1] as RegisterRefreshHook)(this.instance[d] as number);
      const shift = (offset & 3) * 8;
      return size === 4 ? (this.value[d] as number) : ((this.value[d] as number) >>> shift) & bitMask(size * 8);
    }
    if (k === KIND_MSIX_TABLE && this.window !== null) return this.window.readTable(offset - (this.regBase[d] as number), size);
    if (k === KIND_MSIX_PBA && this.window !== null) return this.window.readPba(offset - (this.regBase[d] as number), size);
    return 0;
  }

  /** Software write of 1, 2 or 4 bytes at a naturally aligned `offset`: masks, locks, then hooks. */
  write(offset: number, size: number, value: number): void {
    const d = offset >>> 2;
    const k = this.kind[d];
    if (k === KIND_MSIX_TABLE) {
      if (this.window !== null) this.window.writeTable(offset - (this.regBase[d] as number), size, value);
      return;
    }
    if (k !== KIND_STORAGE) return;
    const shift = (offset & 3) * 8;
    const be = (bitMask(size * 8) << shift) >>> 0;
    const v = (value << shift) >>> 0;
    const lk = this.lock[d] as number;
    const open = lk === LOCK_NONE || this.writable === null || this.writable(LOCKS[lk - 1] as Lock, this.instance[d] as number);
    const m = open ? (this.wmask[d] as number) & be : 0;
    const c = (this.w1c[d] as number) & be & v;
    const old = this.value[d] as number;
    this.value[d] = (((old & ~m) | (v & m)) & ~c) >>> 0;
    const h = this.hook[d] as number;
    if (h !== 0) (this.hookFns[h - 1] as RegisterWriteHook)(this.instance[d] as number, offset - (this.regBase[d] as number), size, value >>> 0);
  }

  // ---------------------------------------------------------------- device-side accesses

  /** Absolute dword index of dword `k` of instance `inst` of `reg`. Throws for a register not in the tables or an instance out of range. */
  dwordIndex(reg: RegisterDef, inst = 0, k = 0): number {
    const pl = this.placements.get(reg);
    if (pl === undefined || inst < 0 || inst >= pl.count) throw new RangeError(`register ${reg.name}[${inst}] is not in this register file`);
    return ((pl.base + inst * pl.block.stride + reg.offset) >>> 2) + k;
  }

  /**
   * Where `block` sits in this file: the offset of its instance 0 and its number of instances, as
   * compiled for this file's context (readable without knowing the context). Throws `RangeError` for
   * a block this file was not compiled from.
   */
  placement(block: BlockDef): { readonly base: number; readonly count: number } {
    const pl = this.blockPlacements.get(block);
    if (pl === undefined) throw new RangeError(`block ${block.name} is not in this register file`);
    return { base: pl.base, count: pl.count };
  }

  /** Number of instances of `reg`'s block. */
  instances(reg: RegisterDef): number {
    return this.placements.get(reg)?.count ?? 0;
  }

  /** Byte offset of instance `inst` of `reg`. */
  offsetOf(reg: RegisterDef, inst = 0): number {
    return this.dwordIndex(reg, inst) * 4;
  }

  /** Reads a field of ≤ 32 bits. */
  get(reg: RegisterDef, f: FieldDef, inst = 0): number {
    const d = this.dwordIndex(reg, inst, f.lo >>> 5);
    return ((this.value[d] as number) >>> (f.lo & 31)) & bitMask(f.width);
  }

  /** Device-side store of a field of ≤ 32 bits (no masks, no hooks). */
  set(reg: RegisterDef, f: FieldDef, inst: number, v: number): void {
    const d = this.dwordIndex(reg, inst, f.lo >>> 5);
    const shift = f.lo & 31;
    const mask = (bitMask(f.width) << shift) >>> 0;
    this.value[d] = (((this.value[d] as number) & ~mask) | ((v << shift) & mask)) >>> 0;
  }

  /** Whether `f` of instance `inst` is non-zero (a 1-bit flag). */
  flag(reg: RegisterDef, f: FieldDef, inst = 0): boolean {
    return this.get(reg, f, inst) !== 0;
  }

  /** Dword `k` of a wide field (bitmaps, addresses). */
  wide(reg: RegisterDef, f: FieldDef, inst: number, k: number): number {
    return this.value[this.dwordIndex(reg, inst, (f.lo >>> 5) + k)] as number;
  }

  /** Device-side store of dword `k` of a wide field. */
  setWide(reg: RegisterDef, f: FieldDef, inst: number, k: number, v: number): void {
    this.value[this.dwordIndex(reg, inst, (f.lo >>> 5) + k)] = v >>> 0;
  }

  /** Zeroes every dword of instance `inst` of `reg`. */
  clear(reg: RegisterDef, inst = 0): void {
    const d = this.dwordIndex(reg, inst);
    this.value.fill(0, d, d + (reg.size >>> 2));
  }

  /** Returns every dword to its reset value; with `device` true, registers preserved by RESET_DEVICE keep theirs. */
  reset(device: boolean): void {
    if (!device) {
      this.value.set(this.resetImage);
      return;
    }
    for (let d = 0; d < this.value.length; d++) if (this.preserve[d] === 0) this.value[d] = this.resetImage[d] as number;
  }

  /** The reset value of a dword (for tests and the reference). */
  resetDword(d: number): number {
    return this.resetImage[d] as number;
  }

  /** The software write mask of a dword, ignoring locks. */
  writeMask(d: number): number {
    return this.wmask[d] as number;
  }

  /** The RW1C mask of a dword. */
  clearMask(d: number): number {
    return this.w1c[d] as number;
  }

  /**
   * The bits of a dword that may ever differ from its reset value: those of RW, RW1C and write-only
   * fields and of status fields. Every other bit (read-only constants, reserved bits) holds its reset
   * value for good, so a saved image whose other bits differ was not taken from a device like this one.
   */
  variableMask(d: number): number {
    return this.vmask[d] as number;
  }

  /**
   * From now on {@link reset} returns to `template`'s reset image: a register file compiled from the
   * same blocks and size, with the same masks, for another context (a virtual device presenting the
   * values of the device it was migrated from). The current values are not touched. Throws
   * `RangeError` when the template differs in blocks, size or any mask.
   */
  adoptResetImage(template: RegisterFile): void {
    if (template.blocks !== this.blocks || template.size !== this.size) throw new RangeError('register file template compiled from other blocks or for another size');
    const d = this.maskMismatch(template);
    if (d >= 0) throw new RangeError(`register file template differs in the masks of dword ${d}`);
    this.resetImage = template.resetImage;
  }

  /** The first dword whose write, RW1C, variable or lock masks differ in `other` (compiled from the same blocks), or −1. */
  maskMismatch(other: RegisterFile): number {
    if (other.wmask === this.wmask && other.w1c === this.w1c && other.vmask === this.vmask && other.lock === this.lock) return -1;
    const n = Math.min(this.value.length, other.value.length);
    for (let d = 0; d < n; d++) {
      if (other.wmask[d] !== this.wmask[d] || other.w1c[d] !== this.w1c[d] || other.vmask[d] !== this.vmask[d] || other.lock[d] !== this.lock[d]) return d;
    }
    return this.value.length === other.value.length ? -1 : n;
  }

  /**
   * The first dword of `image` (a full copy of the values) whose bits outside {@link variableMask}
   * differ from this file's reset image — a value no device with this file's context ever holds — or
   * −1 when there is none. Throws `RangeError` for an image of another size.
   */
  constantMismatch(image: Uint32Array): number {
    if (image.length !== this.value.length) throw new RangeError(`register image of ${image.length} dwords, expected ${this.value.length}`);
    const reset = this.resetImage;
    const vmask = this.vmask;
    for (let d = 0; d < image.length; d++) {
      if ((((image[d] as number) ^ (reset[d] as number)) & ~(vmask[d] as number)) !== 0) return d;
    }
    return -1;
  }
}
