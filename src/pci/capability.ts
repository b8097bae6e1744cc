/**
 * The one small interface every capability implements, and a base class that keeps where the
 * capability was placed so it can read its own registers.
 */
import type { ConfigSpace } from './config-space.js';

/**
 * What the function a capability is installed in offers the capability. {@link PciFunction} hands it
 * to every capability that implements {@link Capability.bind}, once, when the function is built.
 */
export interface CapabilityHost {
  /**
   * Asks for a function-level reset (a guest wrote a capability's "initiate FLR" bit). The function
   * performs it once the guest's config access that asked for it has completed — never in the middle
   * of that access — and only then tells its owner.
   */
  requestFunctionReset(): void;
}

/**
 * A PCI capability. The builder writes its header (ID, next pointer and, for extended ones, the
 * version) read-only; {@link install} writes everything after it. Guest writes reach
 * {@link afterWrite} after the bytes have changed.
 */
export interface Capability {
  /** Capability ID (8 bits standard, 16 bits extended). */
  readonly id: number;
  /** True for an extended (PCI Express, at or above 0x100) capability. */
  readonly extended: boolean;
  /** Extended capability version (4 bits); ignored for standard capabilities. */
  readonly version: number;
  /** Length in bytes, header included. */
  readonly length: number;
  /**
   * Defines the reset values and masks of the bytes after the header (`space.init`) and keeps
   * `space` and `offset` to read its registers later. Called once, by the builder.
   */
  install(space: ConfigSpace, offset: number): void;
  /**
   * Optional: a guest wrote `size` bytes at `offset` (relative to the capability) whose value
   * before the write was `oldValue`. Must not allocate or throw.
   */
  afterWrite?(offset: number, size: number, oldValue: number): void;
  /** Optional: keeps what the function offers (see {@link CapabilityHost}); called once, when the function is built. */
  bind?(host: CapabilityHost): void;
  /** Optional: returns state kept outside config space to its reset value (config bytes are reset already). */
  reset?(): void;
  /** Optional: bytes of state kept outside config space (0 or absent: none). */
  readonly stateSize?: number;
  /** Optional: writes the out-of-config-space state into `dst` ({@link stateSize} bytes). */
  saveState?(dst: Uint8Array): void;
  /** Optional: loads state saved by {@link saveState}; throws a plain `Error` if it is invalid. */
  loadState?(src: Uint8Array): void;
  /**
   * Optional: whether `src` is state this capability can hold exactly as given — {@link loadState}
   * followed by {@link saveState} would give the same bytes (no reserved bit set). Changes nothing.
   * Absent: every state of the right size is exact.
   */
  isExactState?(src: Uint8Array): boolean;
}

/**
 * Base for the library's capabilities: remembers the placement and offers register reads relative
 * to the capability. Subclasses define {@link define} to lay out their registers.
 */
export abstract class CapabilityBase implements Capability {
  /** {@inheritDoc Capability.id} */
  abstract readonly id: number;
  /** {@inheritDoc Capability.extended} */
  abstract readonly extended: boolean;
  /** {@inheritDoc Capability.length} */
  abstract readonly length: number;
  /** Extended capability version; 1 unless a subclass says otherwise. */
  readonly version: number = 1;
  /** Offset of the capability in config space (-1 until installed). */
  offset = -1;
  /** The config space the capability lives in (null until installed). */
  protected cfg: ConfigSpace | null = null;
  /** What the function offers (null until the function is built). */
  protected host: CapabilityHost | null = null;

  /** Records the placement, then lets the subclass define its registers. */
  install(space: ConfigSpace, offset: number): void {
    if (this.cfg !== null) throw new Error(`capability 0x${this.id.toString(16)} is already installed at 0x${this.offset.toString(16)}`);
    this.cfg = space;
    this.offset = offset;
    this.define(space, offset);
  }

  /** Keeps what the function offers (the function calls this once, when it is built). */
  bind(host: CapabilityHost): void {
    this.host = host;
  }

  /** Defines reset values and masks of the bytes after the header (`space.init` at `offset + rel`). */
  protected abstract define(space: ConfigSpace, offset: number): void;

  /** Reads `size` bytes at `rel` bytes into the capability (0 while not installed). */
  protected reg(rel: number, size: number): number {
    return this.cfg === null ? 0 : this.cfg.read(this.offset + rel, size);
  }

  /** Device-model write of `size` bytes at `rel`, bypassing the masks (ignored while not installed). */
  protected poke(rel: number, size: number, value: number): void {
    if (this.cfg !== null) this.cfg.poke(this.offset + rel, size, value);
  }
}
