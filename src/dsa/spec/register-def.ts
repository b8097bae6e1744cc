/**
 * The vocabulary of the declarative register tables (registers.ts): fields with bit ranges,
 * access and reset values, registers made of fields, and blocks that repeat registers (one per
 * group, WQ, vector, interrupt-handle entry). The MMIO dispatch, the reset image, the access rules
 * and the generated register reference are all compiled from these definitions.
 */
import type { Bar0Layout } from './layout.js';
import type { DsaProfile } from './profile.js';

/**
 * How software may access a field: `RO` read-only (writes ignored), `RW` read-write, `RW1C` write
 * 1 to clear, `WO` write-only action (a write triggers the action; reads return the latched value).
 */
export type Access = 'RO' | 'RW' | 'RW1C' | 'WO';

/** When an `RW` field accepts writes: always (no lock), only while the device is Disabled, or only while its WQ is disabled. */
export type Lock = 'device-disabled' | 'wq-disabled';

/**
 * What the device model's register values and implemented bits are computed from. Every table is
 * generic in its context (`FieldDef<C>`, `RegisterDef<F, C>`, `BlockDef<C>`, `RegisterFile<C>`): a
 * virtual device compiles its own table for its own context, with no stand-in profile. A definition
 * whose values need no context (constants only) has context `unknown` and fits any table; the
 * default `never` of the definitions means "of any context" (what a register file reads and writes).
 */
export interface RegisterContext {
  /** The device profile. */
  readonly profile: DsaProfile;
  /** The BAR0 layout of that profile. */
  readonly layout: Bar0Layout;
}

/** One field of a register. */
export interface FieldDef<C = never> {
  /** Name as in the DSA specification / Linux `registers.h` (snake case). */
  readonly name: string;
  /** First bit, counted from the start of the register. */
  readonly lo: number;
  /** Width in bits: at most 32 inside one dword, or a multiple of 32 starting on a dword (a wide field). */
  readonly width: number;
  /** Access rule. */
  readonly access: Access;
  /**
   * Reset value: a number for a field of ≤ 32 bits, or a function of the context (for a wide field,
   * called once per dword with `dword` = 0, 1, … from the field's first dword).
   */
  readonly reset: number | ((c: C, dword: number) => number);
  /** Read-only to software but changed by the device at run time (status). */
  readonly status: boolean;
  /** Write lock of an `RW` field (absent: always writable). */
  readonly lock?: Lock | undefined;
  /** Number of implemented low bits (bitmaps sized by the profile); the others read 0 and ignore writes. */
  readonly implemented?: ((c: C) => number) | undefined;
  /** One-line description. */
  readonly doc: string;
}

/** Where a register's bytes are kept: register storage, or the MSI-X capability's table / PBA. */
export type RegisterWindow = 'msix-table' | 'msix-pba';


/** One register (offset relative to its block instance). */
export interface RegisterDef<F extends Readonly<Record<string, FieldDef>> = Readonly<Record<string, FieldDef>>, C = never> {
  /** Name (upper case, as in the DSA specification). */
  readonly name: string;
  /** Offset from the start of the block instance, dword aligned. */
  readonly offset: number;
  /** Size in bytes: 4, 8, 16 or 32. */
  readonly size: number;
  /** One-line description. */
  readonly doc: string;
  /** Fields by key. */
  readonly fields: F;
  /** Fields in bit order. */
  readonly fieldList: readonly FieldDef<C>[];
  /** RESET_DEVICE leaves the register alone (CMD, CMDSTS, SWERR). */
  readonly preservedByReset: boolean;
  /** A software write calls the owner's hook registered under the register's name. */
  readonly hooked: boolean;
  /**
   * A software read first calls the owner's refresh hook registered under the register's name: the
   * register holds a live value the owner computes on demand (e.g. a virtual device's occupancy).
   */
  readonly refreshed: boolean;
  /** Storage outside the register file. */
  readonly window?: RegisterWindow | undefined;
}

/** A block of registers repeated `count` times at `stride` bytes from `base`. */
export interface BlockDef<C = never> {
  /** Name of the block. */
  readonly name: string;
  /** One-line description. */
  readonly doc: string;
  /** Offset of instance 0 in BAR0 (0: the block is absent when `count` is 0). */
  readonly base: (c: C) => number;
  /** Bytes between instances. */
  readonly stride: number;
  /** Number of instances. */
  readonly count: (c: C) => number;
  /** What an instance is (for the reference): "group", "WQ", "vector", "entry". */
  readonly instance: string;
  /** The registers of one instance. */
  readonly registers: readonly RegisterDef<Readonly<Record<string, FieldDef<C>>>, C>[];
}

/** Where a field sits in its register and what it means: the layout every DSA-like register file shares. */
export interface FieldBits {
  /** First bit, counted from the start of the register. */
  readonly lo: number;
  /** Width in bits (see {@link FieldDef.width}). */
  readonly width: number;
  /** One-line description. */
  readonly doc: string;
}

/** Declares the layout of a field at bits `[lo + width − 1 : lo]`. */
export function bits(lo: number, width: number, doc: string): FieldBits {
  return Object.freeze({ lo, width, doc });
}

/** How one register file treats a field: access, reset value, lock, implemented bits. */
export interface FieldPolicy<C = unknown> {
  /** Access rule. */
  readonly access: Access;
  /** Reset value (default 0). */
  readonly reset?: FieldDef<C>['reset'];
  /** Device-maintained status. */
  readonly status?: boolean;
  /** Write lock of an `RW` field. */
  readonly lock?: Lock | undefined;
  /** Implemented low bits. */
  readonly implemented?: ((c: C) => number) | undefined;
}

/** A field definition before its register names it: layout plus policy. */
export type FieldSpec<C = never> = Omit<FieldDef<C>, 'name'>;

/** A field policy of any context (its context is read back with {@link PolicyContext}). */
export type AnyFieldPolicy = Pick<FieldPolicy, 'access'>;

/** The context the policies of `P` compute their values from (`unknown` when none needs one). */
export type PolicyContext<P> = [P[keyof P]] extends [FieldPolicy<infer C> | undefined] ? C : never;

/** Read-only field with reset value `reset` (a constant, or computed from the table's context). */
export function ro<C = unknown>(reset: FieldDef<C>['reset'] = 0): FieldPolicy<C> {
  return { access: 'RO', reset };
}

/** Read-only field the device changes at run time (status), or RW1C status with `access` `RW1C`. */
export function status(access: 'RO' | 'RW1C' = 'RO'): FieldPolicy<unknown> {
  return { access, status: true };
}

/** Read-write field. */
export function rw<C = unknown>(options: { readonly lock?: Lock; readonly reset?: FieldDef<C>['reset']; readonly implemented?: (c: C) => number } = {}): FieldPolicy<C> {
  return { access: 'RW', ...options };
}

/**
 * The policy helpers of a table whose values are computed from context `C`, so that their callbacks
 * are typed without annotations (`const at = policies<VdevRegisterContext>(); at.ro((c) => …)`).
 */
export function policies<C>(): { readonly ro: typeof ro<C>; readonly rw: typeof rw<C> } {
  return { ro, rw };
}

/** Write-only action field (the write starts an action; reads return the latched value). */
export function wo(): FieldPolicy<unknown> {
  return { access: 'WO' };
}

/**
 * Applies `policy` to the fields of `layout` it names (fields it does not name are left out: they
 * are reserved in this register file).
 */
export function fields<L extends Readonly<Record<string, FieldBits>>, P extends { readonly [K in keyof L]?: AnyFieldPolicy }>(
  layout: L,
  policy: P,
): { readonly [K in keyof P & keyof L]: FieldSpec<PolicyContext<P>> } {
  const out: Record<string, FieldSpec<PolicyContext<P>>> = {};
  for (const key of Object.keys(policy)) {
    const b = layout[key];
    const pol = policy[key as keyof P] as FieldPolicy<PolicyContext<P>> | undefined;
    if (b === undefined || pol === undefined) throw new Error(`field ${key}: no layout or no policy`);
    out[key] = {
      lo: b.lo, width: b.width, doc: b.doc, access: pol.access, reset: pol.reset ?? 0, status: pol.status ?? false,
      lock: pol.lock, implemented: pol.implemented,
    };
  }
  return out as { readonly [K in keyof P & keyof L]: FieldSpec<PolicyContext<P>> };
}

const snake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** `S` in snake case (`userIntEn` → `user_int_en`): a field's documented name from its key. */
export type SnakeCase<S extends string> = S extends `${infer H}${infer T}`
  ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${SnakeCase<T>}`
  : S;

/**
 * The fields of a register by key and, as well, by their documented name (the snake-case spelling
 * docs/registers.md and `vidxd regs` print, as Linux's registers.h spells them): `GENCFG.fields.userIntEn`
 * and `GENCFG.fields.user_int_en` are the same field. The documented aliases are not enumerable, so
 * iterating the fields sees each once.
 */
export type FieldsOf<K extends string, C = never> = Readonly<Record<K, FieldDef<C>>> & Readonly<Record<SnakeCase<K>, FieldDef<C>>>;

/** Options of a register. */
export interface RegisterOptions {
  /** RESET_DEVICE leaves the register alone. */
  readonly preservedByReset?: boolean;
  /** A software write calls the owner's hook registered under the register's name. */
  readonly hook?: boolean;
  /** A software read first calls the owner's refresh hook registered under the register's name. */
  readonly refresh?: boolean;
  /** Storage outside the register file. */
  readonly window?: RegisterWindow | undefined;
}

/**
 * Declares a register from keyed field specs (usually `fields(layout, policy)`; the key in snake
 * case is the field's name). Throws a
 * plain `Error` when a field leaves the register, straddles a dword without being a wide field, or
 * overlaps another field.
 */
export function register<K extends string, C = unknown>(
  name: string,
  offset: number,
  size: number,
  doc: string,
  specs: Readonly<Record<K, FieldSpec<C>>>,
  options: RegisterOptions = {},
): RegisterDef<FieldsOf<K, C>, C> {
  if (offset % 4 !== 0 || ![4, 8, 16, 32].includes(size)) throw new Error(`register ${name}: bad offset ${offset} or size ${size}`);
  const fields = {} as Record<K, FieldDef<C>>;
  const used = new Uint8Array(size * 8);
  for (const key of Object.keys(specs) as K[]) {
    const s = specs[key];
    const f: FieldDef<C> = Object.freeze({ name: snake(key), ...s });
    const wide = f.width > 32;
    if (f.lo < 0 || f.width < 1 || f.lo + f.width > size * 8) throw new Error(`register ${name}: field ${f.name} leaves the register`);
    if (wide ? f.lo % 32 !== 0 || f.width % 32 !== 0 : (f.lo >>> 5) !== ((f.lo + f.width - 1) >>> 5)) {
      throw new Error(`register ${name}: field ${f.name} straddles a dword`);
    }
    if (wide && typeof f.reset === 'number' && f.reset !== 0) throw new Error(`register ${name}: wide field ${f.name} needs a reset function`);
    for (let b = f.lo; b < f.lo + f.width; b++) {
      if (used[b] === 1) throw new Error(`register ${name}: field ${f.name} overlaps another field at bit ${b}`);
      used[b] = 1;
    }
    fields[key] = f;
  }
  const fieldList = Object.freeze(Object.values<FieldDef<C>>(fields).sort((a, b) => a.lo - b.lo));
  // The documented spelling reaches the same field (not enumerable: iteration sees each field once).
  for (const key of Object.keys(fields) as K[]) {
    const doc = snake(key);
    if (doc !== key) Object.defineProperty(fields, doc, { value: fields[key], enumerable: false });
  }
  return Object.freeze({
    name, offset, size, doc, fields: Object.freeze(fields) as FieldsOf<K, C>, fieldList,
    preservedByReset: options.preservedByReset ?? false, hooked: options.hook === true, refreshed: options.refresh === true,
    window: options.window,
  });
}

/**
 * A register as a header file states it: name, offset (from the start of its block instance — BAR0
 * for the general registers, the table entry for the others), size in bytes, one-line meaning and the
 * layout of its fields. A register file applies its policy to it with {@link registerFrom}.
 */
export interface RegisterLayout<L extends Readonly<Record<string, FieldBits>> = Readonly<Record<string, FieldBits>>> {
  /** Name (upper case, as in the DSA specification). */
  readonly name: string;
  /** Offset from the start of the block instance, dword aligned. */
  readonly offset: number;
  /** Size in bytes: 4, 8, 16 or 32. */
  readonly size: number;
  /** One-line description. */
  readonly doc: string;
  /** Where each field sits. */
  readonly bits: L;
}

/** Declares a register of the header (see {@link RegisterLayout}). */
export function registerLayout<L extends Readonly<Record<string, FieldBits>>>(name: string, offset: number, size: number, doc: string, bits: L): RegisterLayout<L> {
  return Object.freeze({ name, offset, size, doc, bits });
}

/**
 * The register of header entry `layout` as one register file treats it: `policy` for the fields it
 * names (the others are reserved there), `options` for the register as a whole (and `doc`, what the
 * register means in that file, when it says more than the header's line). Offset and size come from
 * the header alone. Throws as {@link register} does.
 */
export function registerFrom<L extends Readonly<Record<string, FieldBits>>, P extends { readonly [K in keyof L]?: AnyFieldPolicy }>(
  layout: RegisterLayout<L>,
  policy: P,
  options: RegisterOptions & { readonly doc?: string } = {},
): RegisterDef<FieldsOf<keyof P & keyof L & string, PolicyContext<P>>, PolicyContext<P>> {
  return register(layout.name, layout.offset, layout.size, options.doc ?? layout.doc, fields(layout.bits, policy), options);
}

/**
 * A block of registers as the header states it: its name, where BAR0 has it (`at`: the key of the
 * layout that locates it — what OFFSETS or the MSI-X capability points to — or null for the general
 * registers at 0), the bytes between instances, what an instance is, and a one-line meaning. A table
 * gives the rest with {@link blockFrom}.
 */
export interface BlockLayout {
  /** Name of the block. */
  readonly name: string;
  /** The layout key of instance 0's offset (null: offset 0). */
  readonly at: Exclude<keyof Bar0Layout, 'bar0Size' | 'bar2Size'> | null;
  /** Bytes between instances. */
  readonly stride: number;
  /** What an instance is (for the reference): "group", "WQ", "vector", "entry". */
  readonly instance: string;
  /** One-line description. */
  readonly doc: string;
}

/** Declares a block of the header (see {@link BlockLayout}). */
export function blockLayout(name: string, at: BlockLayout['at'], stride: number, instance: string, doc: string): BlockLayout {
  return Object.freeze({ name, at, stride, instance, doc });
}

/**
 * The block of header entry `layout` in a table whose context has a BAR0 layout: where it is comes
 * from that layout, how many instances and which registers from the table (and `doc`, when it says
 * more than the header's line).
 */
export function blockFrom<C extends { readonly layout: Bar0Layout }>(
  layout: BlockLayout,
  table: { readonly count: (c: C) => number; readonly registers: BlockDef<C>['registers']; readonly doc?: string },
): BlockDef<C> {
  const at = layout.at;
  return {
    name: layout.name,
    doc: table.doc ?? layout.doc,
    base: at === null ? () => 0 : (c) => c.layout[at],
    stride: layout.stride,
    count: table.count,
    instance: layout.instance,
    registers: table.registers,
  };
}

/**
 * `def` with another description: a table that reuses a register of another table unchanged (same
 * offset, fields, access rules and options) but says what it means there.
 */
export function describedAs<R extends RegisterDef>(def: R, doc: string): R {
  return Object.freeze({ ...def, doc });
}

/** The value of a (≤ 32-bit) field's reset, or of dword `dword` of a wide field's reset. */
export function resetValue<C>(f: FieldDef<C>, c: C, dword = 0): number {
  return (typeof f.reset === 'number' ? f.reset : f.reset(c, dword)) >>> 0;
}

/** Mask of `width` bits (width ≤ 32). */
export function bitMask(width: number): number {
  return width >= 32 ? 0xffffffff : ((1 << width) >>> 0) - 1;
}

/** The value of field `f` (≤ 32 bits) in `dword`, the register dword holding it. */
export function fieldOf(dword: number, f: FieldBits): number {
  return ((dword >>> (f.lo & 31)) & bitMask(f.width)) >>> 0;
}

/** The value of field `f` (≤ 32 bits) in the dwords of its register (missing dwords read 0). */
export function unpackField(dwords: ArrayLike<number>, f: FieldBits): number {
  return fieldOf(dwords[f.lo >>> 5] ?? 0, f);
}

/** The dwords of `reg` with the given field values (fields not named are 0). Throws `RangeError` for a wide field. */
export function packRegister<F extends Readonly<Record<string, FieldDef>>>(
  reg: RegisterDef<F>,
  values: Partial<Record<keyof F, number>>,
): Uint32Array {
  const out = new Uint32Array(reg.size >>> 2);
  for (const key of Object.keys(values) as (keyof F)[]) {
    const f = reg.fields[key];
    const v = values[key];
    if (f === undefined || v === undefined) continue;
    if (f.width > 32) throw new RangeError(`field ${f.name} is wide; set its dwords directly`);
    const d = f.lo >>> 5;
    out[d] = ((out[d] as number) | ((v & bitMask(f.width)) << (f.lo & 31))) >>> 0;
  }
  return out;
}

/** Mask of field `f` (≤ 32 bits) in the register dword holding it. */
export function fieldMask(f: FieldBits): number {
  return (bitMask(f.width) << (f.lo & 31)) >>> 0;
}
