import { describe, expect, it } from 'vitest';
import {
  VFIO_DEVICE_GET_REGION_INFO,
  VFIO_REGION_INFO_CAP_MSIX_MAPPABLE,
  VFIO_REGION_INFO_CAP_SPARSE_MMAP,
  VFIO_REGION_INFO_CAP_TYPE,
  VFIO_REGION_TYPE_PCI_VENDOR_TYPE,
  VfioDevice,
  VfioIoctl,
  decodeRegionInfo,
  encodeRegionInfo,
  regionInfoSize,
  regionOffset,
  sparseAreas,
  VFIO_REGION_INFO_FLAG_MMAP,
} from '../../src/vfio/index.js';
import { TestDevice } from './test-device.js';

/** Little-endian bytes of a list of [value, width] fields. */
function le(...fields: [number, number][]): number[] {
  const out: number[] = [];
  for (const [value, width] of fields) {
    let v = BigInt(value);
    for (let i = 0; i < width; i++) {
      out.push(Number(v & 0xffn));
      v >>= 8n;
    }
  }
  return out;
}

function regionArg(index: number, argsz: number, length = argsz): Uint8Array {
  const arg = new Uint8Array(length);
  const v = new DataView(arg.buffer);
  v.setUint32(0, argsz, true);
  v.setUint32(8, index, true);
  return arg;
}

describe('VFIO_DEVICE_GET_REGION_INFO', () => {
  const dev = new VfioDevice(new TestDevice());

  it('reports BAR0 as a trapped R|W region at offset 0', () => {
    expect(dev.getRegionInfo(0)).toEqual({ index: 0, flags: 0x3, size: 0x1000, offset: 0, caps: [] });
  });

  it('reports config space at 0x700_0000_0000', () => {
    const info = dev.getRegionInfo(7);
    expect(info.offset).toBe(0x700_0000_0000);
    expect(info.offset).toBe(regionOffset(7));
    expect(info.size).toBe(0x100);
  });

  it('answers absent regions 0–8 with size 0 and flags 0', () => {
    for (const i of [1, 3, 4, 5, 6, 8]) {
      expect(dev.getRegionInfo(i)).toEqual({ index: i, flags: 0, size: 0, offset: regionOffset(i), caps: [] });
    }
  });

  it('rejects an index past num_regions with EINVAL', () => {
    expect(() => dev.getRegionInfo(9)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => dev.getRegionInfo(-1)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('reports BAR2 with MMAP, CAPS and its sparse areas', () => {
    expect(dev.getRegionInfo(2)).toEqual({
      index: 2,
      flags: 0xf,
      size: 0x2000,
      offset: 0x200_0000_0000,
      caps: [{ id: VFIO_REGION_INFO_CAP_SPARSE_MMAP, areas: [{ offset: 0, size: 0x1000 }, { offset: 0x1000, size: 0x1000 }] }],
    });
  });

  it('sparseAreas gives a region\'s mappable areas: the SPARSE_MMAP areas, the whole region without them, none when not mappable', () => {
    const bar2 = dev.getRegionInfo(2);
    const cap = bar2.caps.find((c) => c.id === VFIO_REGION_INFO_CAP_SPARSE_MMAP);
    expect(cap).toBeDefined();
    expect(sparseAreas(bar2)).toEqual((cap as { areas: unknown }).areas);
    expect(sparseAreas(dev.getRegionInfo(0))).toEqual([]);
    expect(sparseAreas({ index: 3, flags: VFIO_REGION_INFO_FLAG_MMAP, size: 0x2000, offset: regionOffset(3), caps: [] })).toEqual([{ offset: 0, size: 0x2000 }]);
  });

  it('reports a device-specific region with its TYPE capability and a BAR with MSIX_MAPPABLE', () => {
    const extra = new VfioDevice(new TestDevice({ extraRegions: true }));
    expect(extra.getRegionInfo(9).caps).toEqual([{ id: VFIO_REGION_INFO_CAP_TYPE, type: VFIO_REGION_TYPE_PCI_VENDOR_TYPE | 0x8086, subtype: 1 }]);
    expect(extra.getRegionInfo(9).flags).toBe(0x9);
    expect(extra.getRegionInfo(4).caps).toEqual([{ id: VFIO_REGION_INFO_CAP_MSIX_MAPPABLE }]);
    expect(extra.getRegionInfo(4).flags).toBe(0xf);
  });

  describe('byte layout (vfio-uapi.md §4.3 worked example)', () => {
    const bar2 = dev.getRegionInfo(2);
    const full = [
      ...le([0x50, 4], [0xf, 4], [2, 4], [0x20, 4], [0x2000, 8], [0x200_0000_0000, 8]),
      ...[0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00],
      ...[0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
      ...le([0, 8], [0x1000, 8]),
      ...le([0x1000, 8], [0x1000, 8]),
    ];

    it('needs 0x50 bytes for two areas', () => {
      expect(regionInfoSize(bar2)).toBe(0x50);
    });

    it('encodes the full reply for argsz 0x50', () => {
      expect([...encodeRegionInfo(bar2, 0x50)]).toEqual(full);
    });

    it('answers argsz 32 with the bare structure, argsz raised to 0x50 and cap_offset 0', () => {
      const short = encodeRegionInfo(bar2, 32);
      expect([...short]).toEqual(le([0x50, 4], [0xf, 4], [2, 4], [0, 4], [0x2000, 8], [0x200_0000_0000, 8]));
    });

    it('echoes a larger argsz in ioctl form and reports the size needed in reply form', () => {
      expect(new DataView(encodeRegionInfo(bar2, 0x100, 'ioctl').buffer).getUint32(0, true)).toBe(0x100);
      expect(new DataView(encodeRegionInfo(bar2, 0x100, 'reply').buffer).getUint32(0, true)).toBe(0x50);
    });

    it('decodes the full reply back to the same region info', () => {
      const d = decodeRegionInfo(Uint8Array.from(full));
      expect(d).toEqual({ ...bar2, argsz: 0x50, capOffset: 0x20 });
    });

    it('chains several capabilities with next offsets from the start of the structure', () => {
      const info = {
        index: 9,
        flags: 0x5,
        size: 0x1000,
        offset: regionOffset(9),
        caps: [
          { id: VFIO_REGION_INFO_CAP_SPARSE_MMAP, areas: [{ offset: 0, size: 0x1000 }] },
          { id: VFIO_REGION_INFO_CAP_TYPE, type: 1, subtype: 1 },
          { id: VFIO_REGION_INFO_CAP_MSIX_MAPPABLE },
        ],
      } as const;
      const raw = encodeRegionInfo(info, 0x100);
      const v = new DataView(raw.buffer);
      expect(raw.length).toBe(32 + 32 + 16 + 8);
      expect(v.getUint32(32 + 4, true)).toBe(64); // sparse → type
      expect(v.getUint32(64 + 4, true)).toBe(80); // type → msix
      expect(v.getUint32(80 + 4, true)).toBe(0);
      expect(decodeRegionInfo(raw).caps).toEqual(info.caps);
    });

    it('rejects a looping chain with EINVAL', () => {
      const raw = Uint8Array.from(full);
      new DataView(raw.buffer).setUint32(0x24, 0x20, true); // cap at 0x20 points to itself
      expect(() => decodeRegionInfo(raw)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    });

    it('rejects argsz below 32 with EINVAL', () => {
      expect(() => encodeRegionInfo(bar2, 31)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    });
  });

  describe('through the ioctl front end', () => {
    const io = new VfioIoctl(dev);

    it('writes the structure and chain into a large enough buffer, argsz left as given', () => {
      const arg = regionArg(2, 0x60);
      io.ioctl(VFIO_DEVICE_GET_REGION_INFO, arg);
      const d = decodeRegionInfo(arg);
      expect(d.argsz).toBe(0x60);
      expect(d.capOffset).toBe(0x20);
      expect(d.caps).toEqual(dev.getRegionInfo(2).caps);
    });

    it('raises argsz and succeeds when the chain does not fit', () => {
      const arg = regionArg(2, 32);
      expect(io.ioctl(VFIO_DEVICE_GET_REGION_INFO, arg)).toBe(0);
      const d = decodeRegionInfo(arg);
      expect(d.argsz).toBe(0x50);
      expect(d.capOffset).toBe(0);
      expect(d.flags).toBe(0xf);
    });

    it('answers index 9 with EINVAL and argsz 31 with EINVAL', () => {
      expect(() => io.ioctl(VFIO_DEVICE_GET_REGION_INFO, regionArg(9, 32))).toThrow(expect.objectContaining({ code: 'EINVAL' }));
      expect(() => io.ioctl(VFIO_DEVICE_GET_REGION_INFO, regionArg(0, 31, 32))).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    });

    it('answers EFAULT when argsz claims room the buffer does not have', () => {
      expect(() => io.ioctl(VFIO_DEVICE_GET_REGION_INFO, regionArg(2, 0x50, 32))).toThrow(expect.objectContaining({ code: 'EFAULT' }));
    });
  });
});
