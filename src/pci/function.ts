/**
 * A built PCI function: its config space, BARs and capabilities, the listeners its owner registers,
 * and whole-function operations (reset, snapshot/restore, lspci dump, chain validation).
 */
import { type BarInfo, ROM_INDEX } from './bar.js';
import type { Capability, CapabilityHost } from './capability.js';
import type { MsixCapability } from './capabilities/msix.js';
import { type ConfigSpace, type ConfigWriteObserver, OWNER_FIRST_CAPABILITY, OWNER_HEADER } from './config-space.js';
import { BarBits, Command, Header, RomBar } from './spec.js';
import { formatLspciDump } from './lspci.js';
import { SNAPSHOT_HEADER_SIZE, checkSnapshot, newSnapshot } from './snapshot.js';
import { validateCapabilityChains } from './validate.js';

/** Told when a guest write changes the command register. */
export type CommandListener = (oldValue: number, newValue: number) => void;

/**
 * Told when a guest write changes a BAR's decoded address or whether it decodes (command
 * IO/MEM enable, and the ROM enable bit for the ROM). `index` is 0..5, or {@link ROM_INDEX} (6)
 * for the expansion ROM; a 64-bit BAR reports at its lower index. The address is given in two
 * 32-bit halves, type bits removed.
 */
export type BarListener = (index: number, mapped: boolean, addressLo: number, addressHi: number) => void;

/** Told after a guest write touched a capability; `offset` is relative to the capability. */
export type CapabilityWriteListener = (capability: Capability, offset: number, size: number, oldValue: number) => void;

/**
 * Told after a function-level reset initiated by the guest (e.g. PCIe DevCtl "Initiate FLR") has
 * returned config space and the capabilities' state to their reset values: the owner returns its
 * device state to reset (outstanding work aborted without a record or an interrupt, and so on).
 */
export type FunctionResetListener = () => void;

/** What {@link PciFunctionBuilder} hands to the {@link PciFunction} constructor. */
export interface PciFunctionParts {
  /** The config space, fully initialised. */
  readonly config: ConfigSpace;
  /** BAR slots 0..5 (null: absent or the upper half of a 64-bit BAR). */
  readonly bars: readonly (BarInfo | null)[];
  /** Expansion ROM size in bytes (0: none). */
  readonly romSize: number;
  /** Capabilities in owner-code order, with their offsets. */
  readonly capabilities: readonly { readonly capability: Capability; readonly offset: number }[];
  /** The MSI-X capability, if any. */
  readonly msix: MsixCapability | null;
}

const BAR_SLOTS = 7; // BAR0..5 + ROM

/**
 * A PCI function. Guest accesses go through {@link config}; the function watches them (one observer
 * installed at construction) and tells registered listeners about command, BAR and capability
 * changes. Built by {@link PciFunctionBuilder}.
 */
export class PciFunction {
  /** The configuration space (guest accesses: `read`/`write`/`readInto`/`writeFrom`). */
  readonly config: ConfigSpace;
  /** BAR slots 0..5 (null: absent or the upper half of a 64-bit BAR). */
  readonly bars: readonly (BarInfo | null)[];
  /** Expansion ROM size in bytes (0: none). */
  readonly romSize: number;
  /** Capabilities, standard chain then extended chain, each in chain order. */
  readonly capabilities: readonly Capability[];
  /** The MSI-X capability, or null. */
  readonly msix: MsixCapability | null;
  private readonly capOffsets: Uint16Array;
  private readonly stateSize: number;
  private cmd = 0;
  private readonly barLo = new Uint32Array(BAR_SLOTS);
  private readonly barHi = new Uint32Array(BAR_SLOTS);
  private readonly barOn = new Uint8Array(BAR_SLOTS);
  private readonly commandListeners: CommandListener[] = [];
  private readonly barListeners: BarListener[] = [];
  private readonly capabilityListeners: CapabilityWriteListener[] = [];
  private readonly resetListeners: FunctionResetListener[] = [];
  /** A capability asked for a function-level reset during the guest access in progress. */
  private resetRequested = false;

  /** Use {@link PciFunctionBuilder}; this wires the parts it produced. */
  constructor(parts: PciFunctionParts) {
    this.config = parts.config;
    this.bars = parts.bars;
    this.romSize = parts.romSize;
    this.capabilities = parts.capabilities.map((c) => c.capability);
    this.capOffsets = Uint16Array.from(parts.capabilities, (c) => c.offset);
    this.msix = parts.msix;
    this.stateSize = this.capabilities.reduce((n, c) => n + (c.stateSize ?? 0), 0);
    const observer: ConfigWriteObserver = {
      afterWrite: (o, off, size, old) => this.dispatch(o, off, size, old),
      accessDone: () => {
        if (!this.resetRequested) return;
        this.resetRequested = false;
        this.functionLevelReset();
      },
    };
    this.config.setObserver(observer);
    const host: CapabilityHost = { requestFunctionReset: () => { this.resetRequested = true; } };
    for (const c of this.capabilities) c.bind?.(host);
    this.resync();
  }

  // ---------------------------------------------------------------- listeners

  /** Registers a command-register listener; returns a function that removes it. */
  onCommandChange(listener: CommandListener): () => void {
    return register(this.commandListeners, listener);
  }

  /** Registers a BAR address/decode listener; returns a function that removes it. */
  onBarChange(listener: BarListener): () => void {
    return register(this.barListeners, listener);
  }

  /**
   * Registers a listener told after each function-level reset (see {@link functionLevelReset});
   * returns a function that removes it. The function's owner uses it to reset its device state.
   */
  onFunctionReset(listener: FunctionResetListener): () => void {
    return register(this.resetListeners, listener);
  }

  /** Registers a listener for guest writes to any capability; returns a function that removes it. */
  onCapabilityWrite(listener: CapabilityWriteListener): () => void {
    return register(this.capabilityListeners, listener);
  }

  // ---------------------------------------------------------------- state queries

  /** The command register. */
  get command(): number {
    return this.cmd;
  }

  /** Command.BUS_MASTER is set: the function may issue DMA and MSI-X messages. */
  get busMaster(): boolean {
    return (this.cmd & Command.BUS_MASTER) !== 0;
  }

  /** Whether BAR `index` (0..5, or 6 for the ROM) currently decodes. */
  barMapped(index: number): boolean {
    return this.barOn[index] === 1;
  }

  /** Low 32 bits of BAR `index`'s address (type bits removed; 0 for an absent BAR). */
  barAddressLo(index: number): number {
    return this.barLo[index] ?? 0;
  }

  /** High 32 bits of BAR `index`'s address (0 unless 64-bit). */
  barAddressHi(index: number): number {
    return this.barHi[index] ?? 0;
  }

  /** The first capability with this ID in the given chain, or undefined. */
  findCapability(id: number, extended = false): Capability | undefined {
    return this.capabilities.find((c) => c.id === id && c.extended === extended);
  }

  /** The first capability that is an instance of `type` (e.g. `fn.getCapability(PasidCapability)`), or undefined. */
  getCapability<T extends Capability>(type: abstract new (...args: never[]) => T): T | undefined {
    for (const c of this.capabilities) if (c instanceof type) return c;
    return undefined;
  }

  /** Offset of an installed capability of this function (-1 if it is not one). */
  offsetOf(capability: Capability): number {
    const k = this.capabilities.indexOf(capability);
    return k < 0 ? -1 : (this.capOffsets[k] as number);
  }

  // ---------------------------------------------------------------- whole-function operations

  /**
   * Returns every config byte and every capability's out-of-config state (MSI-X table, PBA) to its
   * reset value. Listeners are not called: the owner asked for the reset.
   */
  reset(): void {
    this.config.reset();
    for (const c of this.capabilities) c.reset?.();
    this.resync();
  }

  /**
   * A function-level reset (PCIe FLR): {@link reset}, then every {@link onFunctionReset} listener, so
   * the owner returns its device state to reset too. A guest's write of "Initiate FLR" runs this once
   * the write has completed (never from inside it: the write's remaining pieces would land on the
   * reset bytes); an embedder may call it directly.
   */
  functionLevelReset(): void {
    this.reset();
    for (let i = 0; i < this.resetListeners.length; i++) (this.resetListeners[i] as FunctionResetListener)();
  }

  /** Saves the config bytes and the capabilities' state as a versioned byte array (layout in snapshot.ts). */
  snapshot(): Uint8Array {
    const out = newSnapshot(this.config.size, this.stateSize);
    let at = SNAPSHOT_HEADER_SIZE + this.config.readInto(0, out.subarray(SNAPSHOT_HEADER_SIZE, SNAPSHOT_HEADER_SIZE + this.config.size));
    for (const c of this.capabilities) {
      const n = c.stateSize ?? 0;
      if (n > 0 && c.saveState !== undefined) c.saveState(out.subarray(at, at + n));
      at += n;
    }
    return out;
  }

  /**
   * Why {@link restore} would refuse `snapshot`, or would not hold it exactly as given (a capability's
   * state with a reserved bit set), or null when it would restore it exactly. Changes nothing.
   */
  snapshotProblem(snapshot: Uint8Array): string | null {
    try {
      checkSnapshot(snapshot, this.config.size, this.stateSize);
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
    if (!this.config.matchesReadOnly(snapshot.subarray(SNAPSHOT_HEADER_SIZE, SNAPSHOT_HEADER_SIZE + this.config.size))) {
      return 'read-only config bytes differ from this function (IDs, BAR types or capability layout)';
    }
    let at = SNAPSHOT_HEADER_SIZE + this.config.size;
    for (const c of this.capabilities) {
      const n = c.stateSize ?? 0;
      if (n > 0 && c.isExactState !== undefined && !c.isExactState(snapshot.subarray(at, at + n))) return `the state of capability 0x${c.id.toString(16)} holds bits it never holds`;
      at += n;
    }
    return null;
  }

  /**
   * Restores a snapshot. Throws a plain `Error`, changing nothing, for a wrong magic, version or size,
   * or when the snapshot's guest-read-only bytes differ from this function's reset image (it was taken
   * from a different function). Listeners are not called.
   */
  restore(snapshot: Uint8Array): void {
    checkSnapshot(snapshot, this.config.size, this.stateSize);
    const image = snapshot.subarray(SNAPSHOT_HEADER_SIZE, SNAPSHOT_HEADER_SIZE + this.config.size);
    if (!this.config.matchesReadOnly(image)) {
      throw new Error('snapshot read-only config bytes differ from this function (IDs, BAR types or capability layout)');
    }
    this.config.load(image);
    let at = SNAPSHOT_HEADER_SIZE + this.config.size;
    for (const c of this.capabilities) {
      const n = c.stateSize ?? 0;
      if (n > 0 && c.loadState !== undefined) c.loadState(snapshot.subarray(at, at + n));
      at += n;
    }
    this.resync();
  }

  /**
   * The canonical lspci dump of the config space (see {@link formatLspciDump}). A 256-byte function
   * prints 256 bytes, so lspci does not walk extended capabilities.
   * @param bdf bus:device.function printed on the header line (default `00:00.0`)
   * @param title text after the BDF (default: IDs and class)
   */
  toLspciDump(bdf = '00:00.0', title?: string): string {
    const image = new Uint8Array(this.config.size);
    this.config.readInto(0, image);
    const id = (off: number, digits: number): string => this.config.read(off, digits === 6 ? 4 : 2).toString(16).padStart(digits, '0');
    const cls = (this.config.read(Header.REVISION_ID, 4) >>> 8).toString(16).padStart(6, '0');
    return formatLspciDump(image, bdf, title ?? `Device ${id(Header.VENDOR_ID, 4)}:${id(Header.DEVICE_ID, 4)} (class ${cls})`);
  }

  /** Problems in the capability chains as the config bytes stand now (empty: clean). */
  validate(): string[] {
    const image = new Uint8Array(this.config.size);
    this.config.readInto(0, image);
    return validateCapabilityChains(image);
  }

  // ---------------------------------------------------------------- guest-write dispatch

  private dispatch(owner: number, offset: number, size: number, oldValue: number): void {
    if (owner === OWNER_HEADER) {
      this.headerWritten(offset, size);
      return;
    }
    const k = owner - OWNER_FIRST_CAPABILITY;
    const cap = this.capabilities[k];
    if (cap === undefined) return;
    const rel = offset - (this.capOffsets[k] as number);
    cap.afterWrite?.(rel, size, oldValue);
    for (let i = 0; i < this.capabilityListeners.length; i++) (this.capabilityListeners[i] as CapabilityWriteListener)(cap, rel, size, oldValue);
  }

  private headerWritten(offset: number, size: number): void {
    const end = offset + size;
    const touchesCommand = offset < Header.COMMAND + 2 && end > Header.COMMAND;
    if (touchesCommand) {
      const now = this.config.read(Header.COMMAND, 2);
      if (now !== this.cmd) {
        const old = this.cmd;
        this.cmd = now;
        for (let i = 0; i < this.commandListeners.length; i++) (this.commandListeners[i] as CommandListener)(old, now);
      }
    }
    const touchesBars = (offset < Header.CARDBUS_CIS && end > Header.BAR0) || (offset < Header.ROM_ADDRESS + 4 && end > Header.ROM_ADDRESS);
    if (touchesCommand || touchesBars) this.updateBars(true);
  }

  /** Re-reads command and BAR state after a reset or restore, without telling listeners. */
  private resync(): void {
    this.cmd = this.config.read(Header.COMMAND, 2);
    this.updateBars(false);
  }

  private updateBars(notify: boolean): void {
    const cmd = this.cmd;
    for (let i = 0; i < BAR_SLOTS; i++) {
      let lo = 0;
      let hi = 0;
      let on = 0;
      if (i === ROM_INDEX) {
        if (this.romSize === 0) continue;
        const raw = this.config.read(Header.ROM_ADDRESS, 4);
        lo = (raw & RomBar.ADDRESS_MASK) >>> 0;
        on = (cmd & Command.MEMORY) !== 0 && (raw & RomBar.ENABLE) !== 0 ? 1 : 0;
      } else {
        const bar = this.bars[i];
        if (bar === null || bar === undefined) continue;
        const raw = this.config.read(Header.BAR0 + 4 * i, 4);
        if (bar.kind === 'io') {
          lo = (raw & ~BarBits.IO_FLAGS) >>> 0;
          on = (cmd & Command.IO) !== 0 ? 1 : 0;
        } else {
          lo = (raw & ~BarBits.MEM_FLAGS) >>> 0;
          if (bar.kind === 'mem64') hi = this.config.read(Header.BAR0 + 4 * i + 4, 4);
          on = (cmd & Command.MEMORY) !== 0 ? 1 : 0;
        }
      }
      if (lo === this.barLo[i] && hi === this.barHi[i] && on === this.barOn[i]) continue;
      this.barLo[i] = lo;
      this.barHi[i] = hi;
      this.barOn[i] = on;
      if (!notify) continue;
      for (let l = 0; l < this.barListeners.length; l++) (this.barListeners[l] as BarListener)(i, on === 1, lo, hi);
    }
  }
}

function register<T>(list: T[], listener: T): () => void {
  list.push(listener);
  return () => {
    const i = list.indexOf(listener);
    if (i >= 0) list.splice(i, 1);
  };
}
