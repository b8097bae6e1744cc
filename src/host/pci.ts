/**
 * PCI configuration steps of the host driver, through config-space accesses only (what Linux's
 * `pci_enable_device`, `pci_set_master`, `pci_alloc_irq_vectors` and the IOMMU's PASID/ATS/PRI
 * enabling do): find capabilities by walking the chains, set enable bits.
 */
import {
  AtsControl, CapabilityId, Command, type ConfigSpace, ExtCapabilityId, Header, MsixControl, PasidControl, PriControl,
} from '../pci/index.js';

/** Offset of the first standard capability with `id`, or -1. */
export function findCapability(cfg: ConfigSpace, id: number): number {
  let at = cfg.read(Header.CAPABILITY_LIST, 1) & 0xfc;
  for (let hops = 0; at !== 0 && hops < 48; hops++) {
    if (cfg.read(at, 1) === id) return at;
    at = cfg.read(at + 1, 1) & 0xfc;
  }
  return -1;
}

/** Offset of the first extended capability with `id`, or -1. */
export function findExtCapability(cfg: ConfigSpace, id: number): number {
  if (cfg.size < 0x1000) return -1;
  let at = 0x100;
  for (let hops = 0; at !== 0 && hops < 960; hops++) {
    const head = cfg.read(at, 4);
    if ((head & 0xffff) === id) return at;
    at = (head >>> 20) & 0xffc;
  }
  return -1;
}

/** Where MSI-X lives, as the capability says. */
export interface MsixInfo {
  /** Offset of the capability in config space. */
  readonly capability: number;
  /** Number of vectors. */
  readonly vectors: number;
  /** BAR of the table. */
  readonly tableBar: number;
  /** Offset of the table in its BAR. */
  readonly tableOffset: number;
  /** BAR of the PBA. */
  readonly pbaBar: number;
  /** Offset of the PBA in its BAR. */
  readonly pbaOffset: number;
}

/** Decodes the MSI-X capability, or null when the function has none. */
export function readMsix(cfg: ConfigSpace): MsixInfo | null {
  const at = findCapability(cfg, CapabilityId.MSIX);
  if (at < 0) return null;
  const table = cfg.read(at + 4, 4);
  const pba = cfg.read(at + 8, 4);
  return {
    capability: at,
    vectors: (cfg.read(at + 2, 2) & MsixControl.TABLE_SIZE) + 1,
    tableBar: table & 7,
    tableOffset: (table & ~7) >>> 0,
    pbaBar: pba & 7,
    pbaOffset: (pba & ~7) >>> 0,
  };
}

/** Sets `bits` in the command register (memory decode, bus mastering). */
export function enableCommand(cfg: ConfigSpace, bits: number): void {
  cfg.write(Header.COMMAND, 2, cfg.read(Header.COMMAND, 2) | bits);
}

/** Memory decode and bus mastering (`pci_enable_device` + `pci_set_master`). */
export function enableDevice(cfg: ConfigSpace): void {
  enableCommand(cfg, Command.MEMORY | Command.BUS_MASTER);
}

/** Sets MSI-X enable and clears the function mask. */
export function enableMsix(cfg: ConfigSpace, info: MsixInfo): void {
  const ctl = cfg.read(info.capability + 2, 2);
  cfg.write(info.capability + 2, 2, (ctl | MsixControl.ENABLE) & ~MsixControl.FUNCTION_MASK);
}

/** Which of PASID (with privileged mode), ATS and PRI were found and enabled. */
export interface SvmState {
  /** PASID enabled. */
  readonly pasid: boolean;
  /** PASID privileged mode enabled. */
  readonly pasidPrivileged: boolean;
  /** Max PASID width. */
  readonly pasidWidth: number;
  /** ATS enabled. */
  readonly ats: boolean;
  /** PRI enabled. */
  readonly pri: boolean;
}

/** Enables PASID (and privileged mode when supported), ATS and PRI, as an IOMMU driver does for SVA. */
export function enableSvm(cfg: ConfigSpace): SvmState {
  const pasidAt = findExtCapability(cfg, ExtCapabilityId.PASID);
  let pasid = false;
  let priv = false;
  let width = 0;
  if (pasidAt >= 0) {
    const cap = cfg.read(pasidAt + 4, 2);
    width = (cap >>> 8) & 0x1f;
    const wantPriv = (cap & PasidControl.PRIVILEGED) !== 0;
    cfg.write(pasidAt + 6, 2, PasidControl.ENABLE | (wantPriv ? PasidControl.PRIVILEGED : 0));
    const ctl = cfg.read(pasidAt + 6, 2);
    pasid = (ctl & PasidControl.ENABLE) !== 0;
    priv = (ctl & PasidControl.PRIVILEGED) !== 0;
  }
  const atsAt = findExtCapability(cfg, ExtCapabilityId.ATS);
  if (atsAt >= 0) cfg.write(atsAt + 6, 2, cfg.read(atsAt + 6, 2) | AtsControl.ENABLE);
  const priAt = findExtCapability(cfg, ExtCapabilityId.PRI);
  if (priAt >= 0) cfg.write(priAt + 4, 2, cfg.read(priAt + 4, 2) | PriControl.ENABLE);
  return {
    pasid,
    pasidPrivileged: priv,
    pasidWidth: width,
    ats: atsAt >= 0 && (cfg.read(atsAt + 6, 2) & AtsControl.ENABLE) !== 0,
    pri: priAt >= 0 && (cfg.read(priAt + 4, 2) & PriControl.ENABLE) !== 0,
  };
}
