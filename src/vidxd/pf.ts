/**
 * The whole DSA PF model as a VFIO device (whole-function pass-through, as vfio-pci hands a real PF to
 * a guest): the config region is the model's config space, BAR0 its MMIO registers (1–8 byte
 * accesses; the MSI-X table and PBA served from the model's MSI-X capability by the adapter), BAR2
 * its portals — reads all ones, a trapped 64-byte write is a MOVDIR64B, and `mmap` of a portal page
 * returns the model's `Portal` for it — and the MSI-X IRQ index is driven by the model's MSI-X
 * capability. The guest's driver configures the device through register accesses only.
 */
import { type DsaDevice, PORTAL_BAR, PORTAL_PAGE, PORTAL_SLOT, type Portal, REGISTER_BAR } from '../dsa/index.js';
import { NO_PASID } from '../memory/index.js';
import { type PciBarHandler, type PciVfioAdapter, pciVfioOps, type SparseMmapArea, VFIO_PCI_MSIX_IRQ_INDEX } from '../vfio/index.js';

/** The mappable portal pages of `dev`: every page of BAR2 that belongs to a WQ. */
function portalAreas(dev: DsaDevice): SparseMmapArea[] {
  const areas: SparseMmapArea[] = [];
  for (let off = 0; off < dev.layout.bar2Size; off += PORTAL_PAGE) {
    if (dev.bar2.portalAt(off) !== null) areas.push({ offset: off, size: PORTAL_PAGE });
  }
  return areas;
}

/**
 * The VFIO device operations of the DSA PF `dev` for whole-function pass-through. DMA without a PASID
 * (the requester-ID space, PASID 0 of the model's IOMMU) goes through the attached IOAS; the model's
 * PASID spaces (shared virtual addressing) are not managed here. MSI-X delivery is gated by bus
 * mastering as the model gates it; interrupt-handle (IMS) messages have no VFIO index and stay pending.
 * VFIO reset and close are a function-level reset of the model (`DsaDevice.reset`).
 */
export function pfVfioOps(dev: DsaDevice): PciVfioAdapter<Portal> {
  const bar0: PciBarHandler<Portal> = {
    readSizes: 1 | 2 | 4 | 8,
    writeSizes: 1 | 2 | 4 | 8,
    read: (offset, buf) => dev.bar0.readInto(offset, buf),
    write: (offset, buf) => dev.bar0.writeFrom(offset, buf),
  };
  const bar2: PciBarHandler<Portal> = {
    sparseAreas: portalAreas(dev),
    writeSizes: PORTAL_SLOT,
    read: (_offset, buf) => buf.fill(0xff),
    write: (offset, buf) => {
      dev.bar2.write(offset, buf);
    },
    mmap: (offset) => dev.bar2.portalAt(offset) as Portal,
  };
  return pciVfioOps<Portal>(dev.pci, {
    bars: { [REGISTER_BAR]: bar0, [PORTAL_BAR]: bar2 },
    // The adapter installed an ungated delivery; the model's messages need bus mastering, as its own wiring does.
    onOpen: (sink) => dev.msix.setDelivery((v) => dev.pci.busMaster && sink.signal(VFIO_PCI_MSIX_IRQ_INDEX, v)),
    onReset: () => dev.reset(),
    onClose: () => dev.reset(),
    onAttachIoas: (space) => {
      dev.iommu.detach(NO_PASID);
      if (space !== null) dev.iommu.attach(NO_PASID, space);
    },
  });
}
