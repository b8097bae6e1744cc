/**
 * The IRQ table vfio-pci reports for a PCI function (`vfio-uapi.md` §5.1): INTx, MSI, MSI-X, ERR, REQ.
 */
import { CapabilityId, Header, type PciFunction } from '../pci/index.js';
import {
  VFIO_IRQ_INFO_AUTOMASKED,
  VFIO_IRQ_INFO_EVENTFD,
  VFIO_IRQ_INFO_MASKABLE,
  VFIO_IRQ_INFO_NORESIZE,
} from './constants.js';
import type { IrqIndexOps } from './device-ops.js';

const INTX_FLAGS = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
const MSG_FLAGS = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE;

/**
 * The five vfio-pci IRQ indices of `fn`: INTx has one vector iff the interrupt pin is not 0; MSI has
 * none (src/pci has no MSI capability to drive); MSI-X has the table size; ERR has one vector iff the
 * function has a PCI Express capability; REQ always has one. INTx, MSI and MSI-X are exclusive.
 */
export function pciIrqIndices(fn: PciFunction): IrqIndexOps[] {
  const pin = fn.config.resetValue(Header.INTERRUPT_PIN, 1);
  const pcie = fn.findCapability(CapabilityId.PCI_EXPRESS) !== undefined;
  return [
    Object.freeze({ count: pin !== 0 ? 1 : 0, flags: INTX_FLAGS, exclusive: true }),
    Object.freeze({ count: 0, flags: MSG_FLAGS, exclusive: true }),
    Object.freeze({ count: fn.msix?.vectors ?? 0, flags: MSG_FLAGS, exclusive: true }),
    Object.freeze({ count: pcie ? 1 : 0, flags: MSG_FLAGS, role: 'error' as const }),
    Object.freeze({ count: 1, flags: MSG_FLAGS, role: 'request' as const }),
  ];
}
