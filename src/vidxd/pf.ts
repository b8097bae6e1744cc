/**
 * The whole DSA PF model as a VFIO device, as vfio-pci presents a real PF to a user (a VMM, or a
 * user-space driver such as Linux's VFIO selftest DSA driver):
 * - open resets the function and enables memory decode, with bus mastering off (vfio-pci's open:
 *   `pci_clear_master`, `pci_enable_device`, a function reset), so BAR0 answers at once;
 * - the config region is the model's config space; BAR0 its registers (1–8 byte accesses), mappable
 *   everywhere but the pages of the MSI-X table and PBA — a mapping is a direct handle on the same
 *   register file — with the table and PBA served to region accesses from the capability as storage;
 * - BAR2 its portals, mappable whole: one mapping covers every portal page and each 64-byte write at a
 *   slot reaches the portal of its page; trapped reads return all ones and a trapped 64-byte write is
 *   a MOVDIR64B, as is a slot completed by eight aligned 8-byte writes (a VMM that does not map the
 *   portal — QEMU's vfio-user-pci — forwards a guest's stores in 8-byte pieces: vfio-uapi.md §11.6);
 * - every vector the model raises is signalled to the trigger SET_IRQS installed for it (none: dropped),
 *   whatever the guest wrote to the MSI-X table or message control. Bus mastering is the one gate: it
 *   is a fact of the device (vfio-pci passes the user's bus-master enable to it), so a vector raised
 *   with bus mastering off is held in the function's PBA and sent when it comes back;
 * - VFIO reset, close and a guest's FLR (PCIe DevCtl bit 15) are a function-level reset of the model,
 *   config space included (vfio-uapi.md §6: reset values — memory decode is off again until the user
 *   turns it on; vfio-pci would restore the saved config state around the reset).
 * The guest's driver configures the device through register accesses only.
 */
import {
  type DsaDevice, MappedRegisters, PORTAL_BAR, PORTAL_SLOT, type PortalWindow, REGISTER_BAR,
} from '../dsa/index.js';
import { NO_PASID } from '../memory/index.js';
import { Command, Header } from '../pci/index.js';
import {
  type PciBarHandler, type PciVfioAdapter, pciVfioOps, VFIO_REGION_INFO_FLAG_MMAP, VFIO_REGION_INFO_FLAG_READ,
  VFIO_REGION_INFO_FLAG_WRITE,
} from '../vfio/index.js';
import { QWORD, SlotAssembler } from './slot-assembler.js';

/** What `mmap` of the PF hands out: a BAR0 mapping (registers) or a BAR2 mapping (portals). */
export type PfMapping = MappedRegisters | PortalWindow;

const RW = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;

/**
 * The VFIO device operations of the DSA PF `dev` for whole-function pass-through (see the module
 * comment for what it presents). DMA without a PASID (the requester-ID space, PASID 0 of the model's
 * IOMMU) goes through the attached IOAS; the model's PASID spaces (shared virtual addressing) are not
 * managed here. Interrupt-handle (IMS) messages have no VFIO index and stay pending in their entries.
 */
export function pfVfioOps(dev: DsaDevice): PciVfioAdapter<PfMapping> {
  const bar0: PciBarHandler<PfMapping> = {
    flags: RW | VFIO_REGION_INFO_FLAG_MMAP,
    readSizes: 1 | 2 | 4 | 8,
    writeSizes: 1 | 2 | 4 | 8,
    read: (offset, buf) => dev.bar0.readInto(offset, buf),
    write: (offset, buf) => dev.bar0.writeFrom(offset, buf),
    // The adapter advertises the pages around the MSI-X table and PBA; the core has checked the range.
    mmap: (offset, length) => new MappedRegisters(dev.bar0, offset, length),
  };
  // Trapped 8-byte pieces per slot, and the one slot's bytes handed to the portal when complete.
  const pieces = new SlotAssembler(dev.layout.bar2Size);
  const descriptor = new Uint8Array(PORTAL_SLOT);
  const bar2: PciBarHandler<PfMapping> = {
    flags: RW | VFIO_REGION_INFO_FLAG_MMAP,
    writeSizes: QWORD | PORTAL_SLOT,
    read: (_offset, buf) => buf.fill(0xff),
    write: (offset, buf) => {
      if (buf.length === PORTAL_SLOT) {
        pieces.discard(offset);
        dev.bar2.write(offset, buf);
        return;
      }
      const slots = pieces.add(offset, buf);
      if (slots === null) return;
      const at = offset - (offset % PORTAL_SLOT);
      for (let i = 0; i < PORTAL_SLOT; i++) descriptor[i] = slots[at + i] as number;
      dev.bar2.write(at, descriptor);
    },
    mmap: (offset, length) => dev.bar2.window(offset, length),
  };
  const reset = (): void => {
    dev.reset();
    pieces.reset();
  };
  // A guest's FLR resets the model by itself; the half-assembled slots go with it while the device is open.
  let unlistenFlr: (() => void) | null = null;
  return pciVfioOps<PfMapping>(dev.pci, {
    bars: { [REGISTER_BAR]: bar0, [PORTAL_BAR]: bar2 },
    onOpen: () => {
      reset();
      unlistenFlr ??= dev.pci.onFunctionReset(() => pieces.reset());
      // pci_enable_device: memory decode for the memory BARs; bus mastering stays off until the user sets it.
      dev.pci.config.write(Header.COMMAND, 2, Command.MEMORY);
    },
    onReset: reset,
    onClose: () => {
      reset();
      unlistenFlr?.();
      unlistenFlr = null;
    },
    onAttachIoas: (space) => {
      dev.iommu.detach(NO_PASID);
      if (space !== null) dev.iommu.attach(NO_PASID, space);
    },
  });
}
