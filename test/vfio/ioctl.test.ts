import { describe, expect, it } from 'vitest';
import {
  VFIO_CHECK_EXTENSION,
  VFIO_DEVICE_FEATURE,
  VFIO_DEVICE_GET_INFO,
  VFIO_DEVICE_GET_IRQ_INFO,
  VFIO_DEVICE_GET_PCI_HOT_RESET_INFO,
  VFIO_DEVICE_GET_REGION_INFO,
  VFIO_DEVICE_IOEVENTFD,
  VFIO_DEVICE_RESET,
  VFIO_DEVICE_SET_IRQS,
  VFIO_GET_API_VERSION,
  VFIO_IOMMU_MAP_DMA,
  VFIO_MIG_GET_PRECOPY_INFO,
  VfioDevice,
  VfioIoctl,
} from '../../src/vfio/index.js';
import { TestDevice } from './test-device.js';

describe('ioctl numbers and dispatch', () => {
  it('numbers the ioctls _IO(";", 100 + n) as vfio.h does', () => {
    expect([VFIO_GET_API_VERSION, VFIO_CHECK_EXTENSION, VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_REGION_INFO, VFIO_DEVICE_GET_IRQ_INFO]).toEqual([
      0x3b64, 0x3b65, 0x3b6b, 0x3b6c, 0x3b6d,
    ]);
    expect([VFIO_DEVICE_SET_IRQS, VFIO_DEVICE_RESET, VFIO_DEVICE_FEATURE, VFIO_MIG_GET_PRECOPY_INFO, VFIO_IOMMU_MAP_DMA]).toEqual([
      0x3b6e, 0x3b6f, 0x3b75, 0x3b79, 0x3b71,
    ]);
  });

  it('answers any ioctl other than 107–111 and 117 on the device with ENOTTY', () => {
    const io = new VfioIoctl(new VfioDevice(new TestDevice()));
    for (const req of [VFIO_GET_API_VERSION, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, VFIO_DEVICE_IOEVENTFD, VFIO_MIG_GET_PRECOPY_INFO, 0]) {
      expect(() => io.ioctl(req, new Uint8Array(64)), `0x${req.toString(16)}`).toThrow(expect.objectContaining({ code: 'ENOTTY', errno: 25 }));
    }
  });
});
