import { beforeEach, describe, expect, it } from 'vitest';
import {
  EventFd,
  HandleTable,
  VFIO_DEVICE_SET_IRQS,
  VFIO_IRQ_SET_ACTION_MASK as MASK,
  VFIO_IRQ_SET_ACTION_TRIGGER as TRIGGER,
  VFIO_IRQ_SET_ACTION_UNMASK as UNMASK,
  VFIO_IRQ_SET_DATA_BOOL as BOOL,
  VFIO_IRQ_SET_DATA_EVENTFD as EVENTFD,
  VFIO_IRQ_SET_DATA_NONE as NONE,
  VfioDevice,
  VfioIoctl,
  decodeIrqHandles,
  decodeIrqSet,
  encodeIrqSet,
  type IrqSetRequest,
  type IrqTrigger,
  type VfioDeviceOps,
} from '../../src/vfio/index.js';
import { TestDevice, type TestDeviceOptions, type TestMapping } from './test-device.js';

const INTX = 0;
const MSI = 1;
const MSIX = 2;
const ERR = 3;
const REQ = 4;

/** A device with MSI-X enabled on vectors 0–1 and a trigger on vector 0, so a rejected call has something to break. */
function setup(options: TestDeviceOptions = {}): { model: TestDevice; dev: VfioDevice<TestMapping>; fd: EventFd; names: Map<IrqTrigger, string> } {
  const model = new TestDevice({ msixVectors: 4, ...options });
  const dev = new VfioDevice(model);
  const fd = new EventFd();
  dev.setIrqs({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 2, data: [fd, null] });
  model.irqChanges.length = 0;
  return { model, dev, fd, names: new Map([[fd, 'fd']]) };
}

/** Every index's bookkeeping, triggers by name, plus the device's change log. */
function snapshot(dev: VfioDevice<TestMapping>, model: TestDevice, names: Map<IrqTrigger, string>): unknown {
  const indices = [0, 1, 2, 3, 4].map((i) => {
    const s = dev.irqStatus(i);
    return { ...s, triggers: s.triggers.map((t) => (t === null ? null : (names.get(t) ?? 'other'))) };
  });
  return { indices, changes: [...model.irqChanges] };
}

/** Expects `req` to fail with `errno` (and, for checklist rows, the row number) and to change nothing. */
function rejects(req: IrqSetRequest, errno: string, row?: number, options?: TestDeviceOptions): void {
  const { model, dev, fd, names } = setup(options);
  const before = snapshot(dev, model, names);
  let caught: unknown;
  try {
    dev.setIrqs(req);
  } catch (e) {
    caught = e;
  }
  expect(caught).toMatchObject({ code: errno });
  if (row !== undefined) expect((caught as Error).message).toContain(`(check ${row})`);
  expect(snapshot(dev, model, names)).toEqual(before);
  expect(fd.count).toBe(0);
}

describe('VFIO_DEVICE_SET_IRQS validation checklist (vfio-uapi.md §5.3), first failure wins', () => {
  const fd = new EventFd();

  it('row 1: a header field that is not a u32 → EINVAL', () => {
    rejects({ flags: NONE | TRIGGER, index: MSIX, start: 0, count: -1 }, 'EINVAL', 1);
    rejects({ flags: NONE | TRIGGER, index: MSIX, start: 0.5, count: 1 }, 'EINVAL', 1);
    rejects({ flags: NONE | TRIGGER, index: 2 ** 32, start: 0, count: 1 }, 'EINVAL', 1);
  });

  it('row 2: flag bits outside 0x3F → EINVAL, even with a bad index', () => {
    rejects({ flags: 0x40 | NONE | TRIGGER, index: 99, start: 0, count: 1 }, 'EINVAL', 2);
  });

  it('row 3: DATA_BOOL with a data length other than count → EINVAL, before the index check', () => {
    rejects({ flags: BOOL | TRIGGER, index: 99, start: 0, count: 2, data: Uint8Array.of(1) }, 'EINVAL', 3);
    rejects({ flags: BOOL | TRIGGER, index: MSIX, start: 0, count: 1, data: Uint8Array.of(1, 1) }, 'EINVAL', 3);
    rejects({ flags: BOOL | TRIGGER, index: MSIX, start: 0, count: 1 }, 'EINVAL', 3);
  });

  it('row 4: index ≥ num_irqs → EINVAL', () => {
    rejects({ flags: NONE | TRIGGER, index: 5, start: 0, count: 1 }, 'EINVAL', 4);
  });

  it('row 5: not exactly one ACTION bit → EINVAL', () => {
    rejects({ flags: NONE | MASK | TRIGGER, index: MSIX, start: 0, count: 1 }, 'EINVAL', 5);
    rejects({ flags: NONE, index: MSIX, start: 0, count: 1 }, 'EINVAL', 5);
  });

  it('row 6: not exactly one DATA bit → EINVAL', () => {
    rejects({ flags: NONE | EVENTFD | TRIGGER, index: MSIX, start: 0, count: 1, data: [fd] }, 'EINVAL', 6);
    rejects({ flags: TRIGGER, index: MSIX, start: 0, count: 1 }, 'EINVAL', 6);
  });

  it('row 7: start ≥ count(index) → EINVAL, so an index with count 0 rejects even disable', () => {
    rejects({ flags: NONE | TRIGGER, index: MSIX, start: 4, count: 0 }, 'EINVAL', 7);
    rejects({ flags: NONE | TRIGGER, index: MSI, start: 0, count: 0 }, 'EINVAL', 7);
    rejects({ flags: NONE | TRIGGER, index: INTX, start: 0, count: 0 }, 'EINVAL', 7);
  });

  it('row 8: start + count > count(index) → EINVAL, computed without u32 overflow', () => {
    rejects({ flags: NONE | TRIGGER, index: MSIX, start: 3, count: 2 }, 'EINVAL', 8);
    rejects({ flags: NONE | TRIGGER, index: MSIX, start: 1, count: 0xffff_ffff }, 'EINVAL', 8);
  });

  it('row 9: ERR or REQ with an action other than TRIGGER → EINVAL', () => {
    rejects({ flags: NONE | MASK, index: ERR, start: 0, count: 1 }, 'EINVAL', 9);
    rejects({ flags: NONE | UNMASK, index: REQ, start: 0, count: 1 }, 'EINVAL', 9);
  });

  it('row 10: a notification index with count > 1 → EINVAL', () => {
    // vfio-pci ERR/REQ have one vector (row 8 catches count 2 there); a two-vector notification index reaches row 10.
    const model = new TestDevice();
    const ops: VfioDeviceOps<TestMapping> = { flags: model.flags, regions: model.regions, irqs: [...model.irqs.slice(0, 4), { count: 2, flags: 0x9, role: 'request' }] };
    const dev = new VfioDevice(ops);
    expect(() => dev.setIrqs({ flags: NONE | TRIGGER, index: REQ, start: 0, count: 2 })).toThrow(/\(check 10\)/);
    expect(dev.irqStatus(REQ).triggers).toEqual([null, null]);
  });

  it('row 11: count 0 with start ≠ 0 → EINVAL', () => {
    rejects({ flags: NONE | TRIGGER, index: MSIX, start: 1, count: 0 }, 'EINVAL', 11);
  });

  it('row 12: count 0 with flags other than DATA_NONE|ACTION_TRIGGER → EINVAL', () => {
    rejects({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 0, data: [] }, 'EINVAL', 12);
    rejects({ flags: BOOL | TRIGGER, index: MSIX, start: 0, count: 0, data: new Uint8Array(0) }, 'EINVAL', 12);
    rejects({ flags: NONE | MASK, index: MSIX, start: 0, count: 0 }, 'EINVAL', 12);
  });

  it('row 13: trigger handles with a data type other than EVENTFD → EINVAL', () => {
    rejects({ flags: NONE | TRIGGER, index: MSIX, start: 0, count: 1, data: [fd] }, 'EINVAL', 13);
  });

  it('row 14: DATA_EVENTFD with a slot count other than count → EINVAL', () => {
    rejects({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 2, data: [fd] }, 'EINVAL', 14);
    rejects({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 1 }, 'EINVAL', 14);
    rejects({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 1, data: Uint8Array.of(3) }, 'EINVAL', 14);
  });
});

describe('VFIO_DEVICE_SET_IRQS dispatch (vfio-uapi.md §5.4)', () => {
  it('MSI-X MASK or UNMASK → ENOTTY', () => {
    rejects({ flags: NONE | MASK, index: MSIX, start: 0, count: 1 }, 'ENOTTY');
    rejects({ flags: BOOL | UNMASK, index: MSIX, start: 0, count: 2, data: Uint8Array.of(1, 1) }, 'ENOTTY');
  });

  it('MSI MASK → ENOTTY', () => {
    rejects({ flags: NONE | MASK, index: MSI, start: 0, count: 1 }, 'ENOTTY', undefined, { msiVectors: 1 });
  });

  it('INTx EVENTFD + MASK → ENOTTY, and EVENTFD + UNMASK → ENOTTY (no resample handles)', () => {
    rejects({ flags: EVENTFD | MASK, index: INTX, start: 0, count: 1, data: [new EventFd()] }, 'ENOTTY', undefined, { intx: true });
    rejects({ flags: EVENTFD | UNMASK, index: INTX, start: 0, count: 1, data: [new EventFd()] }, 'ENOTTY', undefined, { intx: true });
  });

  it('INTx MASK while INTx is not enabled → EINVAL', () => {
    rejects({ flags: NONE | MASK, index: INTX, start: 0, count: 1 }, 'EINVAL', undefined, { intx: true });
  });

  it('enabling INTx or MSI while MSI-X is enabled → EINVAL', () => {
    rejects({ flags: EVENTFD | TRIGGER, index: INTX, start: 0, count: 1, data: [new EventFd()] }, 'EINVAL', undefined, { intx: true });
    rejects({ flags: EVENTFD | TRIGGER, index: MSI, start: 0, count: 1, data: [new EventFd()] }, 'EINVAL', undefined, { msiVectors: 1 });
  });

  it('MSI-X EVENTFD beyond the enabled set (NORESIZE) → EINVAL', () => {
    rejects({ flags: EVENTFD | TRIGGER, index: MSIX, start: 1, count: 2, data: [new EventFd(), new EventFd()] }, 'EINVAL');
  });

  it('loopback on an index that is not enabled → EINVAL', () => {
    const dev = new VfioDevice(new TestDevice());
    expect(() => dev.setIrqs({ flags: NONE | TRIGGER, index: MSIX, start: 0, count: 1 })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('a slot that is not a trigger → EBADF, and the range is left unchanged', () => {
    const bogus = { notATrigger: true } as unknown as IrqTrigger;
    rejects({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 2, data: [new EventFd(), bogus] }, 'EBADF');
  });

  it('checks every EINVAL row before EBADF', () => {
    const bogus = { notATrigger: true } as unknown as IrqTrigger;
    rejects({ flags: EVENTFD | TRIGGER, index: MSIX, start: 3, count: 2, data: [bogus, bogus] }, 'EINVAL', 8);
  });
});

describe('VFIO_DEVICE_SET_IRQS effects', () => {
  let model: TestDevice;
  let dev: VfioDevice<TestMapping>;
  beforeEach(() => {
    model = new TestDevice({ msixVectors: 4, intx: true });
    dev = new VfioDevice(model);
  });

  it('enables MSI-X with start + count vectors and installs the triggers', () => {
    const a = new EventFd();
    const b = new EventFd();
    dev.setIrqs({ flags: EVENTFD | TRIGGER, index: MSIX, start: 1, count: 2, data: [a, b] });
    expect(dev.irqStatus(MSIX)).toEqual({ enabled: true, size: 3, triggers: [null, a, b, null], masked: [false, false, false, false] });
    expect(model.irqChanges).toEqual([MSIX]);
  });

  it('delivers a device interrupt to the trigger of its vector only', () => {
    const a = new EventFd();
    const calls: string[] = [];
    dev.setIrqs({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 2, data: [a, () => calls.push('v1')] });
    expect(model.raise(MSIX, 0)).toBe(true);
    expect(model.raise(MSIX, 0)).toBe(true);
    expect(model.raise(MSIX, 1)).toBe(true);
    expect(a.read()).toBe(2);
    expect(a.read()).toBe(0);
    expect(calls).toEqual(['v1']);
  });

  it('reports a vector without a trigger as not delivered', () => {
    dev.setIrqs({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 2, data: [new EventFd(), null] });
    expect(model.raise(MSIX, 1)).toBe(false);
    expect(model.raise(MSIX, 3)).toBe(false);
    expect(model.raise(7, 0)).toBe(false);
  });

  it('replaces and removes triggers inside the enabled set with null slots', () => {
    const a = new EventFd();
    const b = new EventFd();
    dev.setIrqs({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 2, data: [a, b] });
    const c = new EventFd();
    dev.setIrqs({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 2, data: [c, null] });
    expect(dev.irqStatus(MSIX).triggers).toEqual([c, null, null, null]);
    expect(dev.irqStatus(MSIX).size).toBe(2);
  });

  it('loops back NONE + TRIGGER on every vector of the range that has a trigger', () => {
    const a = new EventFd();
    const b = new EventFd();
    dev.setIrqs({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 3, data: [a, null, b] });
    dev.setIrqs({ flags: NONE | TRIGGER, index: MSIX, start: 0, count: 3 });
    expect([a.count, b.count]).toEqual([1, 1]);
  });

  it('loops back BOOL + TRIGGER only where the byte is non-zero', () => {
    const a = new EventFd();
    const b = new EventFd();
    dev.setIrqs({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 2, data: [a, b] });
    dev.setIrqs({ flags: BOOL | TRIGGER, index: MSIX, start: 0, count: 2, data: Uint8Array.of(0, 7) });
    expect([a.count, b.count]).toEqual([0, 1]);
  });

  it('disables the whole index with NONE + TRIGGER, start 0, count 0', () => {
    const a = new EventFd();
    dev.setIrqs({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 2, data: [a, a] });
    dev.setIrqs({ flags: NONE | TRIGGER, index: MSIX, start: 0, count: 0 });
    expect(dev.irqStatus(MSIX)).toEqual({ enabled: false, size: 0, triggers: [null, null, null, null], masked: [false, false, false, false] });
    expect(model.raise(MSIX, 0)).toBe(false);
    expect(a.count).toBe(0);
  });

  it('accepts disabling an index that is not enabled', () => {
    expect(() => dev.setIrqs({ flags: NONE | TRIGGER, index: MSIX, start: 0, count: 0 })).not.toThrow();
    expect(dev.irqStatus(MSIX).enabled).toBe(false);
  });

  it('enables another exclusive index once MSI-X is disabled', () => {
    dev.setIrqs({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 1, data: [new EventFd()] });
    dev.setIrqs({ flags: NONE | TRIGGER, index: MSIX, start: 0, count: 0 });
    const i = new EventFd();
    dev.setIrqs({ flags: EVENTFD | TRIGGER, index: INTX, start: 0, count: 1, data: [i] });
    expect(dev.irqStatus(INTX).enabled).toBe(true);
  });

  it('installs, loops back and removes the ERR and REQ triggers independently of MSI-X', () => {
    const err = new EventFd();
    const req = new EventFd();
    dev.setIrqs({ flags: EVENTFD | TRIGGER, index: ERR, start: 0, count: 1, data: [err] });
    dev.setIrqs({ flags: EVENTFD | TRIGGER, index: REQ, start: 0, count: 1, data: [req] });
    dev.setIrqs({ flags: NONE | TRIGGER, index: REQ, start: 0, count: 1 });
    dev.setIrqs({ flags: BOOL | TRIGGER, index: ERR, start: 0, count: 1, data: Uint8Array.of(1) });
    expect([err.count, req.count]).toEqual([1, 1]);
    expect(dev.signalRequest()).toBe(true);
    expect(req.count).toBe(2);
    dev.setIrqs({ flags: EVENTFD | TRIGGER, index: REQ, start: 0, count: 1, data: [null] });
    expect(dev.signalRequest()).toBe(false);
  });

  describe('INTx masking (MASKABLE | AUTOMASKED)', () => {
    let line: EventFd;
    beforeEach(() => {
      dev = new VfioDevice((model = new TestDevice({ intx: true, msixVectors: 0 })));
      line = new EventFd();
      dev.setIrqs({ flags: EVENTFD | TRIGGER, index: INTX, start: 0, count: 1, data: [line] });
    });

    it('masks the line after each signal until UNMASK', () => {
      expect(model.raise(INTX, 0)).toBe(true);
      expect(model.raise(INTX, 0)).toBe(false);
      expect(line.count).toBe(1);
      dev.setIrqs({ flags: NONE | UNMASK, index: INTX, start: 0, count: 1 });
      expect(model.raise(INTX, 0)).toBe(true);
      expect(line.count).toBe(2);
    });

    it('holds a masked line with MASK and tells the device on UNMASK', () => {
      dev.setIrqs({ flags: NONE | MASK, index: INTX, start: 0, count: 1 });
      expect(dev.irqStatus(INTX).masked).toEqual([true]);
      expect(model.raise(INTX, 0)).toBe(false);
      model.irqChanges.length = 0;
      dev.setIrqs({ flags: BOOL | UNMASK, index: INTX, start: 0, count: 1, data: Uint8Array.of(1) });
      expect(model.irqChanges).toEqual([INTX]);
      expect(model.raise(INTX, 0)).toBe(true);
    });

    it('ignores a BOOL mask byte of zero', () => {
      dev.setIrqs({ flags: BOOL | MASK, index: INTX, start: 0, count: 1, data: Uint8Array.of(0) });
      expect(dev.irqStatus(INTX).masked).toEqual([false]);
    });
  });
});

describe('VFIO_DEVICE_SET_IRQS byte form', () => {
  it('round-trips the header and an EVENTFD payload of s32 handles', () => {
    const raw = encodeIrqSet({ flags: EVENTFD | TRIGGER, index: MSIX, start: 1, count: 2, handles: [5, -1] });
    expect([...raw]).toEqual([
      28, 0, 0, 0, 0x24, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0,
      5, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
    ]);
    const d = decodeIrqSet(raw);
    expect({ ...d, payload: [...d.payload] }).toEqual({ argsz: 28, flags: 0x24, index: 2, start: 1, count: 2, payload: [5, 0, 0, 0, 0xff, 0xff, 0xff, 0xff] });
    expect(decodeIrqHandles(d.payload, 2)).toEqual([5, -1]);
  });

  it('round-trips a BOOL payload', () => {
    const raw = encodeIrqSet({ flags: BOOL | TRIGGER, index: MSIX, start: 0, count: 3, bools: [1, 0, 1] });
    expect([...raw.subarray(0, 4)]).toEqual([23, 0, 0, 0]);
    expect([...decodeIrqSet(raw).payload]).toEqual([1, 0, 1]);
  });

  describe('through the ioctl front end', () => {
    function front(): { model: TestDevice; io: VfioIoctl<TestMapping>; handles: HandleTable } {
      const model = new TestDevice({ msixVectors: 2 });
      const handles = new HandleTable();
      return { model, io: new VfioIoctl(new VfioDevice(model), handles), handles };
    }

    it('resolves handles through the handle table, −1 leaving a vector unassigned', () => {
      const { model, io, handles } = front();
      const fd = new EventFd();
      const h = handles.add(fd);
      io.ioctl(VFIO_DEVICE_SET_IRQS, encodeIrqSet({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 2, handles: [-1, h] }));
      expect(io.device.irqStatus(MSIX).triggers).toEqual([null, fd]);
      expect(model.raise(MSIX, 1)).toBe(true);
      expect(fd.count).toBe(1);
    });

    it('answers an unknown handle with EBADF and installs nothing', () => {
      const { io, handles } = front();
      const h = handles.add(new EventFd());
      expect(() =>
        io.ioctl(VFIO_DEVICE_SET_IRQS, encodeIrqSet({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 2, handles: [h, 42] })),
      ).toThrow(expect.objectContaining({ code: 'EBADF', errno: 9 }));
      expect(io.device.irqStatus(MSIX)).toMatchObject({ enabled: false, triggers: [null, null] });
    });

    it('answers argsz < 20 with EINVAL (row 1, ioctl form)', () => {
      const { io } = front();
      const raw = encodeIrqSet({ flags: NONE | TRIGGER, index: MSIX, start: 0, count: 0 });
      raw[0] = 19;
      expect(() => io.ioctl(VFIO_DEVICE_SET_IRQS, raw)).toThrow(/check 1\)/);
    });

    it('answers argsz − 20 < count for BOOL with EINVAL at row 3', () => {
      const { io } = front();
      const raw = encodeIrqSet({ flags: BOOL | TRIGGER, index: 9, start: 0, count: 2, bools: [1, 1] });
      raw[0] = 21;
      expect(() => io.ioctl(VFIO_DEVICE_SET_IRQS, raw)).toThrow(/check 3\)/);
    });

    it('accepts BOOL data longer than count (kernel: argsz − 20 ≥ count)', () => {
      const { io, handles } = front();
      const fd = new EventFd();
      io.ioctl(VFIO_DEVICE_SET_IRQS, encodeIrqSet({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 1, handles: [handles.add(fd)] }));
      io.ioctl(VFIO_DEVICE_SET_IRQS, encodeIrqSet({ flags: BOOL | TRIGGER, index: MSIX, start: 0, count: 1, bools: [1, 0, 0, 0] }));
      expect(fd.count).toBe(1);
    });

    it('answers argsz − 20 < 4·count for EVENTFD with EINVAL at row 14', () => {
      const { io, handles } = front();
      const raw = encodeIrqSet({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 2, handles: [handles.add(new EventFd()), -1] });
      raw[0] = 24;
      expect(() => io.ioctl(VFIO_DEVICE_SET_IRQS, raw)).toThrow(/check 14\)/);
    });
  });
});
