/**
 * The vdev's commands (vidxd-device.md §5.2) as one table: code, name, operand, what the command
 * does to the vdev, and the handler with every CMDSTS check in the order the spec lists them. A
 * handler acts on the backing WQ only through {@link VdevCommandContext} (which reaches the host
 * driver's WQ object), never on another vdev's descriptors, handles or PASIDs. It returns the
 * completion value (`error | result << 8`) or {@link COMMAND_WAITS}; the dispatch of §5.1 is the DSA
 * layer's `CommandUnit` over this table (the vdev adds its wait strategy). CMDCAP is computed from this table, so it lists exactly what is implemented.
 */
import { CmdStatus, COMMAND_WAITS, type CommandUnit, DeviceState, INT_HANDLE_IMS } from '../dsa/index.js';

export { COMMAND_WAITS };

/** What a waiting command does once the vdev's descriptors are gone. */
export type VdevWaitKind = 'drain' | 'disable-wq' | 'disable-device';

/** The PCI state the command checks read (the vdev's own config space). */
export interface VdevPciState {
  /** Command register bus master enable. */
  readonly busMaster: boolean;
  /** PASID capability enable. */
  readonly pasidEnabled: boolean;
  /** PASID capability privileged-mode enable. */
  readonly pasidPrivileged: boolean;
  /** ATS capability enable. */
  readonly atsEnabled: boolean;
  /** PRI capability enable. */
  readonly priEnabled: boolean;
}

/** The guest's WQCFG as ENABLE_WQ reads it. */
export interface VdevWqConfig {
  /** WQCFG.mode: dedicated (RO, from the type). */
  readonly dedicated: boolean;
  /** WQCFG.pasid_en. */
  readonly pasidEnabled: boolean;
  /** WQCFG.pasid: the guest PASID. */
  readonly pasid: number;
  /** WQCFG.priv. */
  readonly priv: boolean;
  /** WQCAP says the WQCFG mode is supported. */
  readonly modeSupported: boolean;
}

/** What the command handlers may do to a vdev (and, through it, to its backing WQ). */
export interface VdevCommandContext {
  /** GENSTS.state. */
  readonly state: number;
  /** The virtual WQ is enabled (WQCFG.wq_state). */
  readonly wqEnabled: boolean;
  /** The vdev's MSI-X vector count. */
  readonly vectors: number;
  /** The PCI state of the vdev's config space. */
  pciState(): VdevPciState;
  /** The guest's WQCFG. */
  wqConfig(): VdevWqConfig;
  /** The guest's GENCFG.rdbuf_limit. */
  readBufferLimit(): number;
  /** Enters Enabled. */
  enterEnabled(): void;
  /** Enters Drain (Disable Device in progress). */
  enterDrain(): void;
  /** Binds the virtual WQ to the backing WQ with `c` and enables it; returns 0 or a CMDSTS error. */
  enableWq(c: VdevWqConfig): number;
  /** The virtual WQ stops taking submissions (the mapped and trapped portals answer as a disabled WQ). */
  stopWq(): void;
  /** Unbinds and disables the virtual WQ (its descriptors are gone or abandoned). */
  disableWq(): void;
  /** Abandons this vdev's queued descriptors in the backing WQ (no record, no interrupt). */
  abortWork(): void;
  /** Starts a wait of `kind` for this vdev's descriptors. */
  beginWait(kind: VdevWaitKind): void;
  /** Whether `pasid` is the guest PASID this vdev's descriptors run with (only while the WQ is enabled). */
  isGuestPasid(pasid: number): boolean;
  /** RESET_DEVICE: abandon the work, disable the WQ, reset the registers (CMD, CMDSTS, SWERR kept), free the handles, enter Disabled. */
  resetDevice(): void;
  /** An interrupt handle for completion vector `vector`; returns the handle, or minus a CMDSTS error. */
  requestHandle(vector: number): number;
  /** Frees handle `handle`; false when this vdev does not own it. */
  releaseHandle(handle: number): boolean;
}

/** One command of the vdev. */
export interface VdevCommandDef {
  /** Command code (CMD bits 24:20). */
  readonly code: number;
  /** Name (Linux `IDXD_CMD_*` without the prefix). */
  readonly name: string;
  /** What the operand (CMD bits 19:0) holds. */
  readonly operand: string;
  /** What the command does to the vdev. */
  readonly doc: string;
  /** Runs the checks and the command; returns `error | result << 8` or {@link COMMAND_WAITS}. */
  readonly run: (v: VdevCommandContext, operand: number) => number;
}

/**
 * Checks a WQ-mask operand (bits 15:0 a mask of 16 WQs, bits 19:16 which set of 16, as the DSA
 * model decodes it): it must name WQ 0 and nothing else, since the vdev has one WQ (else 0x02, as
 * for a mask naming a WQ the device lacks); then the WQ must be enabled (else 0x32).
 */
function checkWqMask(v: VdevCommandContext, operand: number): number {
  if (operand !== 1) return CmdStatus.INVALID_WQ_INDEX;
  return v.wqEnabled ? 0 : CmdStatus.WQ_NOT_ENABLED;
}

const TABLE = [
  {
    code: 1, name: 'ENABLE_DEVICE', operand: 'none', doc: 'Enter Enabled (no effect on the backing device)',
    run: (v) => {
      if (v.state !== DeviceState.DISABLED) return CmdStatus.DEVICE_ENABLED;
      const pci = v.pciState();
      if (!pci.busMaster) return CmdStatus.BUS_MASTER_DISABLED;
      // §5.2: a PASID without ATS, or PRI enabled differently from PASID, is refused like BME clear.
      if ((pci.pasidEnabled && !pci.atsEnabled) || pci.priEnabled !== pci.pasidEnabled) return CmdStatus.BUS_MASTER_DISABLED;
      // The vdev's GRPCAP has no global read-buffer limit: a non-zero GENCFG.rdbuf_limit is a configuration error, as on the model.
      if (v.readBufferLimit() !== 0) return CmdStatus.CONFIG_ERROR;
      v.enterEnabled();
      return 0;
    },
  },
  {
    code: 2, name: 'DISABLE_DEVICE', operand: 'none', doc: 'Stop the virtual WQ, wait for this vdev\'s descriptors, disable the WQ, enter Disabled',
    run: (v) => {
      if (v.state !== DeviceState.ENABLED) return CmdStatus.DEVICE_DISABLED;
      v.stopWq();
      v.enterDrain();
      v.beginWait('disable-device');
      return COMMAND_WAITS;
    },
  },
  {
    code: 3, name: 'DRAIN_ALL', operand: 'none', doc: 'Wait for every descriptor this vdev submitted',
    run: (v) => {
      v.beginWait('drain');
      return COMMAND_WAITS;
    },
  },
  {
    code: 4, name: 'ABORT_ALL', operand: 'none', doc: 'Abandon this vdev\'s queued descriptors (no record, no interrupt), then drain',
    run: (v) => {
      v.abortWork();
      v.beginWait('drain');
      return COMMAND_WAITS;
    },
  },
  {
    code: 5, name: 'RESET_DEVICE', operand: 'none', doc: 'Abort, disable the virtual WQ, reset every register but CMD, CMDSTS, SWERR and the MSI-X table, free the handles, enter Disabled',
    run: (v) => {
      v.resetDevice();
      return 0;
    },
  },
  {
    code: 6, name: 'ENABLE_WQ', operand: 'WQ index', doc: 'Validate WQCFG and bind the virtual WQ to the backing WQ (dedicated: its PASID and priv; shared: the guest PASID\'s translation)',
    run: (v, operand) => {
      if (operand !== 0) return CmdStatus.INVALID_WQ_INDEX;
      if (v.state !== DeviceState.ENABLED) return CmdStatus.DEVICE_NOT_ENABLED;
      if (v.wqEnabled) return CmdStatus.WQ_ENABLED;
      const c = v.wqConfig();
      if (!c.modeSupported) return CmdStatus.WQ_MODE;
      const pci = v.pciState();
      if (!c.dedicated && !c.pasidEnabled) return CmdStatus.PASID_ENABLE;
      if (c.pasidEnabled && !pci.pasidEnabled) return CmdStatus.PASID_ENABLE;
      // As the DSA model: a privileged dedicated WQ needs PASID privileged mode.
      if (c.dedicated && c.pasidEnabled && c.priv && !pci.pasidPrivileged) return CmdStatus.PASID_ENABLE;
      return v.enableWq(c);
    },
  },
  {
    code: 7, name: 'DISABLE_WQ', operand: 'WQ mask', doc: 'Stop the virtual WQ, wait for this vdev\'s descriptors, then unbind it',
    run: (v, operand) => {
      const err = checkWqMask(v, operand);
      if (err !== 0) return err;
      v.stopWq();
      v.beginWait('disable-wq');
      return COMMAND_WAITS;
    },
  },
  {
    code: 8, name: 'DRAIN_WQ', operand: 'WQ mask', doc: 'Wait for this vdev\'s descriptors',
    run: (v, operand) => {
      const err = checkWqMask(v, operand);
      if (err !== 0) return err;
      v.beginWait('drain');
      return COMMAND_WAITS;
    },
  },
  {
    code: 9, name: 'ABORT_WQ', operand: 'WQ mask', doc: 'Abandon this vdev\'s queued descriptors',
    run: (v, operand) => {
      const err = checkWqMask(v, operand);
      if (err !== 0) return err;
      v.abortWork();
      return 0;
    },
  },
  {
    code: 10, name: 'RESET_WQ', operand: 'WQ mask', doc: 'Abandon this vdev\'s queued descriptors, then disable the virtual WQ',
    run: (v, operand) => {
      const err = checkWqMask(v, operand);
      if (err !== 0) return err;
      v.stopWq();
      v.abortWork();
      v.disableWq();
      return 0;
    },
  },
  {
    code: 11, name: 'DRAIN_PASID', operand: 'PASID', doc: 'Wait for this vdev\'s descriptors with that guest PASID',
    run: (v, operand) => {
      if (!v.isGuestPasid(operand)) return 0;
      v.beginWait('drain');
      return COMMAND_WAITS;
    },
  },
  {
    code: 12, name: 'ABORT_PASID', operand: 'PASID', doc: 'Abandon this vdev\'s queued descriptors with that guest PASID',
    run: (v, operand) => {
      if (v.isGuestPasid(operand)) v.abortWork();
      return 0;
    },
  },
  {
    code: 13, name: 'REQUEST_INT_HANDLE', operand: '[15:0] vector, [16] IMS', doc: 'CMDSTS.result = the parent\'s interrupt handle bound to (this vdev, vector)',
    run: (v, operand) => {
      const vector = operand & 0xffff;
      if (vector === 0 || vector >= v.vectors) return CmdStatus.INVALID_INT_INDEX;
      // The vdev has no IMS table (GENCAP.max_ims_mult = 0).
      if ((operand & INT_HANDLE_IMS) !== 0) return CmdStatus.NO_HANDLE;
      const h = v.requestHandle(vector);
      return h < 0 ? -h : h << 8;
    },
  },
  {
    code: 14, name: 'RELEASE_INT_HANDLE', operand: '[15:0] handle, [16] IMS', doc: 'Free an interrupt handle this vdev owns',
    run: (v, operand) => {
      if ((operand & INT_HANDLE_IMS) !== 0) return CmdStatus.INVALID_HANDLE;
      return v.releaseHandle(operand & 0xffff) ? 0 : CmdStatus.INVALID_HANDLE;
    },
  },
] as const satisfies readonly VdevCommandDef[];

/** Every command of the vdev, in code order. */
export const VDEV_COMMANDS: readonly VdevCommandDef[] = Object.freeze(TABLE);

/** Commands indexed by code (undefined: not implemented). */
export const VDEV_COMMAND_BY_CODE: readonly (VdevCommandDef | undefined)[] = (() => {
  const t = new Array<VdevCommandDef | undefined>(32).fill(undefined);
  for (const c of VDEV_COMMANDS) t[c.code] = c;
  return Object.freeze(t);
})();

/** CMDCAP of the vdev: bit n set exactly for each command n of the table. */
export const VDEV_COMMAND_MASK: number = VDEV_COMMANDS.reduce((m, c) => (m | (1 << c.code)) >>> 0, 0);

/** The vdev's command register: the DSA layer's command unit over {@link VDEV_COMMAND_BY_CODE}. */
export type VdevCommandUnit = CommandUnit<VdevCommandContext, VdevWaitKind>;
