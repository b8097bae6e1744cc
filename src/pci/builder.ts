/**
 * Builds a {@link PciFunction}: header fields, BARs, expansion ROM and capabilities placed at an
 * explicit offset or first fit, with both chains linked. Every building mistake throws a plain
 * `Error` naming what is wrong.
 */
import { type BarInfo, type BarOptions, checkBar, checkRom, initBar, initRom } from './bar.js';
import type { Capability } from './capability.js';
import { MsixCapability } from './capabilities/msix.js';
import { type ConfigSize, ConfigSpace, OWNER_FIRST_CAPABILITY, OWNER_HEADER } from './config-space.js';
import { PciFunction } from './function.js';
import {
  CapabilityId, Command, CONFIG_SIZE_EXPRESS, EXT_CAPABILITY_START, ExtCapabilityId, ExtCapHeader, Header, Status,
} from './spec.js';

/** Identity and header options of a function. */
export interface PciFunctionOptions {
  /** Vendor ID (not 0xFFFF). */
  readonly vendorId: number;
  /** Device ID. */
  readonly deviceId: number;
  /** Class code, 24 bits: base class, subclass, programming interface (e.g. 0x088000). */
  readonly classCode: number;
  /** Revision ID. Default 0. */
  readonly revision?: number;
  /** Subsystem vendor ID. Default 0. */
  readonly subsystemVendorId?: number;
  /** Subsystem ID. Default 0. */
  readonly subsystemId?: number;
  /** 256 (conventional) or 4096 (PCI Express) bytes. Default 4096. */
  readonly configSize?: ConfigSize;
  /**
   * Command bits the device implements (guest-writable); others read 0. Default MEM, bus master,
   * SERR and INTx disable, plus I/O when an I/O BAR is declared.
   */
  readonly commandMask?: number;
  /** Status error bits implemented as RW1C (subset of 0xF900). Default 0xF900 (bits 8, 11..15). */
  readonly statusErrorMask?: number;
  /** Interrupt pin 0 (none) .. 4 (INTD). Default 0. */
  readonly interruptPin?: number;
  /** Reset value of the (guest-writable) interrupt line. Default 0xFF (unknown / not connected). */
  readonly interruptLine?: number;
}

interface Placed {
  readonly capability: Capability;
  readonly offset: number;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

function checkField(name: string, value: number, bits: number): void {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** bits) throw new Error(`${name} ${value} does not fit in ${bits} bits`);
}

/** True for IDs that may appear more than once in a chain (vendor-specific). */
function mayRepeat(cap: Capability): boolean {
  return cap.extended ? cap.id === ExtCapabilityId.VENDOR_SPECIFIC : cap.id === CapabilityId.VENDOR_SPECIFIC;
}

/**
 * Collects a function's parts and builds it once. Capabilities are placed when added (explicit
 * offset, or the first dword-aligned gap that fits: 0x40..0xFF for standard, 0x100..0xFFF for
 * extended ones); each chain is linked in ascending offset order, and the extended chain must start
 * at 0x100.
 */
export class PciFunctionBuilder {
  private readonly options: PciFunctionOptions;
  private readonly size: ConfigSize;
  private readonly bars: (BarInfo | null)[] = [null, null, null, null, null, null];
  private readonly barTaken = new Uint8Array(6);
  private romSize = 0;
  private readonly placed: Placed[] = [];
  private readonly used: Uint8Array;
  private built = false;

  /** Starts a function; throws on an ID or header field out of range. */
  constructor(options: PciFunctionOptions) {
    checkField('vendor ID', options.vendorId, 16);
    if (options.vendorId === 0xffff) throw new Error('vendor ID 0xffff means "no device"');
    checkField('device ID', options.deviceId, 16);
    checkField('class code', options.classCode, 24);
    checkField('revision', options.revision ?? 0, 8);
    checkField('subsystem vendor ID', options.subsystemVendorId ?? 0, 16);
    checkField('subsystem ID', options.subsystemId ?? 0, 16);
    checkField('interrupt line', options.interruptLine ?? 0xff, 8);
    const pin = options.interruptPin ?? 0;
    if (!Number.isInteger(pin) || pin < 0 || pin > 4) throw new Error(`interrupt pin ${pin} is outside 0..4`);
    if (options.commandMask !== undefined && (options.commandMask & ~Command.DEFINED) !== 0) {
      throw new Error(`command mask ${hex(options.commandMask)} has bits outside the defined ${hex(Command.DEFINED)}`);
    }
    if (options.statusErrorMask !== undefined && (options.statusErrorMask & ~Status.ERRORS) !== 0) {
      throw new Error(`status error mask ${hex(options.statusErrorMask)} has bits outside ${hex(Status.ERRORS)}`);
    }
    const size = options.configSize ?? CONFIG_SIZE_EXPRESS;
    if (size !== 256 && size !== 4096) throw new Error(`config size must be 256 or 4096, not ${String(size)}`);
    this.options = options;
    this.size = size;
    this.used = new Uint8Array(size);
    this.used.fill(1, 0, Header.END);
  }

  /** Declares BAR `index`; a 64-bit BAR also takes `index + 1`. Throws on a bad or taken slot. */
  bar(index: number, options: BarOptions): this {
    this.checkOpen();
    checkBar(index, options);
    const wide = options.kind === 'mem64';
    if (this.barTaken[index] === 1 || (wide && this.barTaken[index + 1] === 1)) {
      throw new Error(`BAR${index}${wide ? `/${index + 1}` : ''} overlaps a BAR already declared`);
    }
    this.barTaken[index] = 1;
    if (wide) this.barTaken[index + 1] = 1;
    this.bars[index] = { index, kind: options.kind, size: options.size, prefetchable: options.prefetchable ?? false };
    return this;
  }

  /** Declares an expansion ROM of `size` bytes (2 KiB..2 GiB, power of two). */
  rom(size: number): this {
    this.checkOpen();
    checkRom(size);
    if (this.romSize !== 0) throw new Error('the expansion ROM is already declared');
    this.romSize = size;
    return this;
  }

  /**
   * Places `capability` at `offset`, or first fit when `offset` is omitted. Throws on misalignment,
   * overlap, a standard capability at or above 0x100, an extended one below it (or in a 256-byte
   * space), a repeated capability ID (vendor-specific excepted) or a capability added twice.
   */
  capability(capability: Capability, offset?: number): this {
    this.checkOpen();
    const cap = capability;
    const what = `${cap.extended ? 'extended' : 'standard'} capability ${hex(cap.id)}`;
    if (cap.extended) {
      checkField(`${what}: ID`, cap.id, 16);
      checkField(`${what}: version`, cap.version, 4);
      if (this.size !== CONFIG_SIZE_EXPRESS) throw new Error(`${what}: a 256-byte config space has no extended capabilities`);
    } else {
      checkField(`${what}: ID`, cap.id, 8);
    }
    if (cap.id === 0 || cap.id === (cap.extended ? 0xffff : 0xff)) throw new Error(`${what}: ID ${hex(cap.id)} is reserved`);
    const minLength = cap.extended ? 4 : 2;
    if (!Number.isInteger(cap.length) || cap.length < minLength) throw new Error(`${what}: length ${cap.length} is shorter than its header`);
    if (this.placed.some((p) => p.capability === cap)) throw new Error(`${what} is already added`);
    if (!mayRepeat(cap) && this.placed.some((p) => p.capability.extended === cap.extended && p.capability.id === cap.id)) {
      throw new Error(`${what} is already present; only vendor-specific capabilities may repeat`);
    }
    const lo = cap.extended ? EXT_CAPABILITY_START : Header.END;
    const hi = cap.extended ? this.size : EXT_CAPABILITY_START;
    const at = offset ?? this.firstFit(lo, hi, cap.length, what);
    if (!Number.isInteger(at) || at % 4 !== 0) throw new Error(`${what}: offset ${at} is not dword-aligned`);
    if (!cap.extended && (at < lo || at >= 0x100)) throw new Error(`${what}: offset ${hex(at)} is outside standard space 0x40..0xff`);
    if (cap.extended && at < 0x100) throw new Error(`${what}: offset ${hex(at)} is below 0x100`);
    if (at + cap.length > hi) throw new Error(`${what} at ${hex(at)} (${cap.length} bytes) runs past ${hex(hi - 1)}`);
    for (let b = at; b < at + cap.length; b++) {
      if (this.used[b] !== 0) {
        const other = this.placed.find((p) => b >= p.offset && b < p.offset + p.capability.length);
        throw new Error(`${what} at ${hex(at)} overlaps ${other === undefined ? 'the header' : `capability ${hex(other.capability.id)} at ${hex(other.offset)}`}`);
      }
    }
    this.used.fill(1, at, at + cap.length);
    this.placed.push({ capability: cap, offset: at });
    return this;
  }

  private firstFit(lo: number, hi: number, length: number, what: string): number {
    for (let at = lo; at + length <= hi; at += 4) {
      let free = true;
      for (let b = at; b < at + length && free; b++) free = this.used[b] === 0;
      if (free) return at;
    }
    throw new Error(`${what}: no free ${length}-byte gap in ${hex(lo)}..${hex(hi - 1)}`);
  }

  private checkOpen(): void {
    if (this.built) throw new Error('this builder has already built its function');
  }

  /** Builds the function; the builder cannot be used afterwards. */
  build(): PciFunction {
    this.checkOpen();
    const standard = this.placed.filter((p) => !p.capability.extended).sort((a, b) => a.offset - b.offset);
    const extended = this.placed.filter((p) => p.capability.extended).sort((a, b) => a.offset - b.offset);
    if (extended.length > 0 && extended[0]?.offset !== EXT_CAPABILITY_START) {
      throw new Error(`the extended capability chain starts at 0x100, but the lowest extended capability is at ${hex(extended[0]?.offset ?? 0)}`);
    }
    const msix = this.placed.map((p) => p.capability).filter((c): c is MsixCapability => c instanceof MsixCapability);
    for (const m of msix) this.checkMsixBars(m);

    const space = new ConfigSpace(this.size);
    this.initHeader(space, standard.length > 0 ? (standard[0]?.offset ?? 0) : 0);
    space.claim(0, Header.END, OWNER_HEADER);
    const ordered = [...standard, ...extended];
    ordered.forEach((p, k) => {
      const { capability: cap, offset } = p;
      space.claim(offset, cap.length, OWNER_FIRST_CAPABILITY + k);
      cap.install(space, offset);
      const chain = cap.extended ? extended : standard;
      const next = chain[chain.indexOf(p) + 1]?.offset ?? 0;
      if (cap.extended) space.init(offset, 4, (cap.id | (cap.version << ExtCapHeader.VERSION_SHIFT) | (next << ExtCapHeader.NEXT_SHIFT)) >>> 0);
      else space.init(offset, 2, cap.id | (next << 8));
    });
    this.built = true;
    const fn = new PciFunction({ config: space, bars: this.bars, romSize: this.romSize, capabilities: ordered, msix: msix[0] ?? null });
    const problems = fn.validate();
    if (problems.length > 0) throw new Error(`built function has malformed capability chains: ${problems.join('; ')}`);
    return fn;
  }

  private checkMsixBars(m: MsixCapability): void {
    for (const [name, bir, off, len] of [['table', m.tableBar, m.tableOffset, m.tableSize], ['PBA', m.pbaBar, m.pbaOffset, m.pbaSize]] as const) {
      const bar = this.bars[bir];
      if (bar === null || bar === undefined || bar.kind === 'io') throw new Error(`MSI-X ${name} is in BAR${bir}, which is not a declared memory BAR`);
      if (off + len > bar.size) throw new Error(`MSI-X ${name} (${hex(off)}+${len}) does not fit in BAR${bir} (${bar.size} bytes)`);
    }
  }

  private initHeader(space: ConfigSpace, firstCapability: number): void {
    const o = this.options;
    const hasIo = this.bars.some((b) => b?.kind === 'io');
    const commandMask = o.commandMask ?? (Command.MEMORY | Command.BUS_MASTER | Command.SERR | Command.INTX_DISABLE | (hasIo ? Command.IO : 0));
    space.init(Header.VENDOR_ID, 2, o.vendorId);
    space.init(Header.DEVICE_ID, 2, o.deviceId);
    space.init(Header.COMMAND, 2, 0, commandMask);
    // INTx status (bit 3) is the device model's to drive.
    space.init(Header.STATUS, 2, firstCapability !== 0 ? Status.CAP_LIST : 0, 0, o.statusErrorMask ?? Status.ERRORS, Status.INTERRUPT);
    space.init(Header.REVISION_ID, 4, (o.revision ?? 0) | (o.classCode << 8));
    space.init(Header.CACHE_LINE_SIZE, 1, 0, 0xff);
    for (const bar of this.bars) if (bar !== null) initBar(space, bar);
    space.init(Header.SUBSYSTEM_VENDOR_ID, 2, o.subsystemVendorId ?? 0);
    space.init(Header.SUBSYSTEM_ID, 2, o.subsystemId ?? 0);
    if (this.romSize !== 0) initRom(space, this.romSize);
    space.init(Header.CAPABILITY_LIST, 1, firstCapability);
    space.init(Header.INTERRUPT_LINE, 1, o.interruptLine ?? 0xff, 0xff);
    space.init(Header.INTERRUPT_PIN, 1, o.interruptPin ?? 0);
  }
}
