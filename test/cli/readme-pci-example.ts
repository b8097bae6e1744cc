import { MsixCapability, PcieCapability, PciFunctionBuilder } from '../../src/pci/index.js';
import {
  EventFd, pciVfioOps, regionOffset, VfioDevice, VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_PCI_BAR0_REGION_INDEX as BAR0, VFIO_PCI_CONFIG_REGION_INDEX as CONFIG, VFIO_PCI_MSIX_IRQ_INDEX as MSIX,
} from '../../src/vfio/index.js';

// The device: BAR0 holds a scratch register at 0x0 and a doorbell at 0x4 that raises MSI-X vector 0.
// The MSI-X table (0x800) and PBA (0xC00) are in BAR0 too; the adapter serves them, not the handler.
const msix = new MsixCapability({ vectors: 1, tableBar: 0, tableOffset: 0x800, pbaBar: 0, pbaOffset: 0xc00 });
const fn = new PciFunctionBuilder({ vendorId: 0x1af4, deviceId: 0x10f0, classCode: 0xff0000 })
  .bar(0, { kind: 'mem32', size: 0x1000 })
  .capability(msix, 0x40)
  .capability(new PcieCapability({ deviceType: 9 }), 0x50)
  .build();
const regs = new Uint8Array(8);
const device = new VfioDevice(pciVfioOps(fn, {
  bars: {
    0: {
      readSizes: 4, // only aligned 4-byte accesses reach the handler; the VFIO core refuses others (EINVAL)
      writeSizes: 4,
      read(offset, buf) {
        for (let i = 0; i < 4; i++) buf[i] = regs[offset + i] ?? 0;
      },
      write(offset, buf) {
        if (offset === 0x4) msix.notify(0);
        else for (let i = 0; i < 4; i++) regs[offset + i] = buf[i] ?? 0;
      },
    },
  },
}));

// The VMM: config space, BAR0 and interrupts, all through the VFIO device API.
const word = new Uint8Array(4);
const le = new DataView(word.buffer);
device.readRegion(CONFIG, 0x00, word);
console.log(le.getUint32(0, true).toString(16)); // 10f01af4: device and vendor ID
le.setUint32(0, 0xcafe, true);
device.writeRegion(BAR0, 0x0, word);
device.read(regionOffset(BAR0) + 0x0, word.fill(0)); // the same register at its ioctl-style position
console.log(le.getUint32(0, true).toString(16)); // cafe

const irq = new EventFd();
// The trigger alone decides delivery: the guest's MSI-X table and enable bit are the VMM's to emulate.
device.setIrqs({ index: MSIX, flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, start: 0, count: 1, data: [irq] });
device.writeRegion(BAR0, 0x4, word); // rings the doorbell
console.log(irq.read()); // 1
device.close();
