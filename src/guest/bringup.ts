/**
 * The register-level steps of bringing the device up and down (docs/guest-driver.md walks through
 * them): PCI enables, MSI-X, the error interrupts, WQCFG's PASID fields, the commands, the interrupt
 * handles and the portal mapping. Each function is one step, in the order the driver runs them.
 */
import { Command } from '../dsa/spec/command-codes.js';
import { MSIX_PERM_SIZE, PORTAL_PAGE } from '../dsa/spec/layout.js';
import { fieldMask, fieldOf } from '../dsa/spec/register-def.js';
import {
  CMD_REG, CMDSTS_REG, GENCFG_REG, GENCTRL_REG, GENSTS_REG, GRPENGCFG_REG, GRPWQCFG_REG, MSIX_PERM_REG, WQCFG_REG,
} from '../dsa/spec/register-fields.js';
import {
  AtsControl, AtsReg, Command as PciCommand, Header, MSIX_ENTRY_SIZE, MSIX_VECTOR_CONTROL, MsixControl, MsixReg, PasidControl, PasidReg,
  PcieDeviceCapability, PcieDeviceControl, PcieReg, PriControl, PriReg,
} from '../pci/spec.js';
import {
  type IrqTrigger, regionOffset, VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_DATA_NONE,
  VFIO_PCI_MSIX_IRQ_INDEX, VFIO_REGION_INFO_CAP_SPARSE_MMAP,
} from '../vfio/index.js';
import type { DsaCaps, WqInfo } from './dsa-probe.js';
import { IdxdGuestError } from './errors.js';
import { dwordOf, withField } from './fields.js';
import { type DeviceIo, PORTAL_REGION } from './io.js';
import type { PciProbe } from './pci-probe.js';

/** What a mapped portal page is used through: MOVDIR64B/ENQCMD of 64 bytes at `offset` of `bytes`, answering the dsa layer's `SubmitStatus`. */
export interface PortalLike {
  /** Submits one descriptor; returns accepted (0), retry (1), dropped (2) or ignored (3). */
  submit(bytes: Uint8Array, offset: number): number;
}

/** Memory decode and bus mastering on, INTx off (completions are MSI-X). */
export function enablePci(io: DeviceIo): void {
  const cmd = io.cfg(Header.COMMAND, 2);
  io.setCfg(Header.COMMAND, 2, cmd | PciCommand.MEMORY | PciCommand.BUS_MASTER | PciCommand.INTX_DISABLE);
}

/**
 * PCI PASID on (with ATS and PRI: a vdev refuses ENABLE_DEVICE with PASID but without ATS, or with
 * PRI enabled differently from PASID — vidxd-device.md §5.2). A probe error when the capabilities are missing.
 */
export function enablePasid(io: DeviceIo, pci: PciProbe, pasid: number): void {
  if (pci.pasid === null) throw new IdxdGuestError('probe', 'the WQ needs a PASID but the device has no PASID capability');
  if (pasid < 0 || pasid >= 2 ** pci.pasid.maxWidth) {
    throw new IdxdGuestError('argument', `PASID ${pasid} does not fit the device's ${pci.pasid.maxWidth}-bit PASID width`);
  }
  if (pci.ats < 0 || pci.pri < 0) throw new IdxdGuestError('probe', 'PASID use needs the ATS and PRI capabilities, which the device lacks');
  io.setCfg(pci.pasid.offset + PasidReg.CONTROL, 2, PasidControl.ENABLE);
  io.setCfg(pci.ats + AtsReg.CONTROL, 2, AtsControl.ENABLE);
  io.setCfg(pci.pri + PriReg.CONTROL, 2, PriControl.ENABLE);
}

/** Installs `triggers` on MSI-X vectors 0..n−1 with SET_IRQS (DATA_EVENTFD | ACTION_TRIGGER). */
export function installTriggers(io: DeviceIo, triggers: readonly IrqTrigger[]): void {
  const info = io.dev.getIrqInfo(VFIO_PCI_MSIX_IRQ_INDEX);
  if (info.count < triggers.length) throw new IdxdGuestError('probe', `MSI-X IRQ index has ${info.count} vectors, the capability ${triggers.length}`);
  io.dev.setIrqs({
    flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: VFIO_PCI_MSIX_IRQ_INDEX, start: 0, count: triggers.length, data: triggers,
  });
}

/** Removes every MSI-X trigger (SET_IRQS DATA_NONE | ACTION_TRIGGER with count 0). */
export function removeTriggers(io: DeviceIo): void {
  io.dev.setIrqs({ flags: VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, index: VFIO_PCI_MSIX_IRQ_INDEX, start: 0, count: 0 });
}

/** MSI-X enabled and unmasked (function mask off, every vector's mask bit off in the table in its BAR). */
export function enableMsix(io: DeviceIo, pci: PciProbe): void {
  const m = pci.msix;
  if (m === null) throw new IdxdGuestError('probe', 'the device has no MSI-X capability');
  const control = io.cfg(m.offset + MsixReg.CONTROL, 2);
  io.setCfg(m.offset + MsixReg.CONTROL, 2, (control | MsixControl.ENABLE) & ~MsixControl.FUNCTION_MASK);
  for (let v = 0; v < m.vectors; v++) {
    const at = m.tableOffset + v * MSIX_ENTRY_SIZE + MSIX_VECTOR_CONTROL;
    io.regionW32(m.tableBar, at, 0);
  }
}

/** MSI-X disabled. */
export function disableMsix(io: DeviceIo, pci: PciProbe): void {
  const m = pci.msix;
  if (m === null) return;
  io.setCfg(m.offset + MsixReg.CONTROL, 2, io.cfg(m.offset + MsixReg.CONTROL, 2) & ~MsixControl.ENABLE);
}

/**
 * The WQ 0 the driver configures on a configurable device (GENCAP.config_en: a PF) that arrives with
 * none: dedicated when the device supports it (else shared, the limited portal's threshold at its
 * size), every entry of WQCAP.total_wq_size, priority 1, the device's max transfer and batch sizes,
 * no block on fault.
 */
export function plannedWq(caps: DsaCaps): WqInfo {
  const dedicated = caps.dedicatedMode || !caps.sharedMode;
  return {
    offset: caps.offsets.wqcfg,
    size: caps.totalWqSize,
    threshold: dedicated ? 0 : caps.totalWqSize,
    dedicated,
    blockOnFault: false,
    priority: 1,
    maxTransferSize: caps.maxTransferSize,
    maxBatchSize: caps.maxBatchSize,
    state: 0,
  };
}

/**
 * Configures WQ 0 of a configurable device through BAR0 (GENCAP.config_en; the device must be
 * Disabled), as Linux's VFIO selftest DSA driver does: group 0 takes WQ 0 and every engine, and
 * WQCFG 0 gets `wq`'s size, threshold, mode, block on fault, priority and max transfer and batch
 * shifts (its PASID fields are programmed later, by {@link programWqPasid}). A configurable device
 * forgets this on RESET_DEVICE and on a function-level reset, so the driver writes it again after each.
 */
export function configureWq(io: DeviceIo, caps: DsaCaps, wq: WqInfo): void {
  const g = caps.offsets.grpcfg; // group 0
  for (let d = 0; d < GRPWQCFG_REG.size / 4; d++) io.w32(g + GRPWQCFG_REG.offset + 4 * d, d === 0 ? 1 : 0);
  const e = caps.engines;
  io.w32(g + GRPENGCFG_REG.offset, e >= 32 ? 0xffffffff : (2 ** e - 1) >>> 0);
  io.w32(g + GRPENGCFG_REG.offset + 4, e > 32 ? (2 ** Math.min(e - 32, 32) - 1) >>> 0 : 0);
  const f = WQCFG_REG.bits;
  io.w32(wq.offset + dwordOf(f.wqSize), withField(0, f.wqSize, wq.size));
  io.w32(wq.offset + dwordOf(f.wqThresh), withField(0, f.wqThresh, wq.threshold));
  let dw2 = withField(0, f.mode, wq.dedicated ? 1 : 0);
  dw2 = withField(dw2, f.bof, wq.blockOnFault ? 1 : 0);
  io.w32(wq.offset + dwordOf(f.mode), withField(dw2, f.priority, wq.priority));
  const shifts = withField(withField(0, f.maxXferShift, Math.log2(wq.maxTransferSize)), f.maxBatchShift, Math.log2(wq.maxBatchSize));
  io.w32(wq.offset + dwordOf(f.maxXferShift), shifts);
}

/** The device advertises function-level reset (PCIe DevCap bit 28). */
export function canFlr(io: DeviceIo, pci: PciProbe): boolean {
  return pci.pcie >= 0 && (io.cfg(pci.pcie + PcieReg.DEVICE_CAPABILITIES, 4) & PcieDeviceCapability.FLR) !== 0;
}

/**
 * A function-level reset through config space (PCIe DevCtl bit 15), as Linux's `pcie_flr()`: the
 * device returns to its reset state — config space included, so the bring-up runs again after it.
 */
export function initiateFlr(io: DeviceIo, pci: PciProbe): void {
  const at = pci.pcie + PcieReg.DEVICE_CONTROL;
  io.setCfg(at, 2, io.cfg(at, 2) | PcieDeviceControl.INITIATE_FLR);
}

/** GENCTRL: software-error and halt interrupts on vector 0. */
export function enableErrorInterrupts(io: DeviceIo): void {
  io.w32(GENCTRL_REG.offset, fieldMask(GENCTRL_REG.bits.softerrIntEn) | fieldMask(GENCTRL_REG.bits.haltIntEn));
}

/**
 * GENCFG.user_int_en: user-mode (Priv 0) descriptors of a PASID WQ may request completion interrupts.
 * Writable while Disabled. Returns whether the bit reads back set (a vdev shows its parent's bit and
 * ignores the write).
 */
export function enableUserInterrupts(io: DeviceIo): boolean {
  const bit = fieldMask(GENCFG_REG.bits.userIntEn);
  io.w32(GENCFG_REG.offset, io.r32(GENCFG_REG.offset) | bit);
  return (io.r32(GENCFG_REG.offset) & bit) !== 0;
}

/** WQCFG dword 2 of `wq`: pasid, pasid_en, priv 0 (the read-only mode, bof and priority bits are written back as read). */
export function programWqPasid(io: DeviceIo, wq: WqInfo, pasidEnabled: boolean, pasid: number): void {
  const f = WQCFG_REG.bits;
  const at = wq.offset + dwordOf(f.pasid);
  let dw = io.r32(at);
  dw = withField(dw, f.pasid, pasidEnabled ? pasid : 0);
  dw = withField(dw, f.pasidEn, pasidEnabled ? 1 : 0);
  dw = withField(dw, f.priv, 0);
  io.w32(at, dw);
}

/** MSIX_PERM of completion vectors 1..n−1: the PASID allowed to use them. */
export function programMsixPerm(io: DeviceIo, caps: DsaCaps, vectors: number, pasidEnabled: boolean, pasid: number): void {
  const f = MSIX_PERM_REG.bits;
  for (let v = 1; v < vectors; v++) {
    io.w32(caps.offsets.msixPerm + v * MSIX_PERM_SIZE, withField(withField(0, f.pasidEn, pasidEnabled ? 1 : 0), f.pasid, pasidEnabled ? pasid : 0));
  }
}

/** GENSTS.state (0 Disabled, 1 Enabled, 2 Drain, 3 Halt) and reset type. */
export function deviceState(io: DeviceIo): { readonly state: number; readonly resetType: number } {
  const dw = io.r32(GENSTS_REG.offset);
  return { state: fieldOf(dw, GENSTS_REG.bits.state), resetType: fieldOf(dw, GENSTS_REG.bits.resetType) };
}

/** Writes CMD: command `code` with `operand` (no completion interrupt: the driver polls CMDSTS). */
export function writeCommand(io: DeviceIo, code: number, operand: number): void {
  io.w32(CMD_REG.offset, withField(withField(0, CMD_REG.bits.cmd, code), CMD_REG.bits.operand, operand));
}

/** CMDSTS.active. */
export const CMDSTS_ACTIVE = fieldMask(CMDSTS_REG.bits.active);

/** True when CMDCAP (or, without it, the DSA 1.0 set 1–12) has command `code`. */
export function hasCommand(caps: DsaCaps, code: number): boolean {
  if (!caps.commandCapabilities) return code >= Command.ENABLE_DEVICE && code <= Command.ABORT_PASID;
  return ((caps.cmdcap >>> code) & 1) === 1;
}

/**
 * Which BAR2 page to submit through: a dedicated WQ uses its unlimited page, a shared WQ its
 * limited page (the one a vdev lets a guest map, where the WQ threshold applies). The
 * choice is made from the sparse-mmap areas the region info advertises; without them, page 0 or 1.
 */
export function portalPage(io: DeviceIo, dedicated: boolean): number {
  const info = io.dev.getRegionInfo(PORTAL_REGION);
  if (info.size < 2 * PORTAL_PAGE) throw new IdxdGuestError('probe', `BAR2 region is ${info.size} bytes, too small for two portal pages`);
  const want = dedicated ? 0 : PORTAL_PAGE;
  const sparse = info.caps.find((c) => c.id === VFIO_REGION_INFO_CAP_SPARSE_MMAP);
  if (sparse === undefined || !('areas' in sparse)) return want;
  if (sparse.areas.some((a) => a.offset <= want && want + PORTAL_PAGE <= a.offset + a.size)) return want;
  const first = sparse.areas[0];
  return first === undefined ? want : first.offset;
}

/** Maps the portal page at `page` of BAR2 and checks it can be submitted through. */
export function mapPortal(io: DeviceIo, page: number): PortalLike {
  const obj = io.dev.mmap(regionOffset(PORTAL_REGION) + page, PORTAL_PAGE);
  if (typeof obj !== 'object' || obj === null || typeof (obj as { submit?: unknown }).submit !== 'function') {
    throw new IdxdGuestError('probe', 'the mapped portal page has no submit(bytes, offset) method');
  }
  return obj as PortalLike;
}
