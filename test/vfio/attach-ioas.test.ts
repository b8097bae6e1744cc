import { describe, expect, it } from 'vitest';
import { type AddressSpace, DmaRun, GuestMemory } from '../../src/memory/index.js';
import {
  VFIO_DEVICE_FLAGS_RESET,
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_WRITE,
  VfioDevice,
  VfioIoas,
  pciVfioOps,
  type VfioDeviceOps,
} from '../../src/vfio/index.js';
import { TestDevice } from './test-device.js';
import { vdevLikeFunction } from './test-pci-device.js';

const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;

/** A device that does DMA: it keeps the space it was given and logs hook calls. */
class DmaDevice implements VfioDeviceOps {
  readonly flags = VFIO_DEVICE_FLAGS_RESET;
  readonly regions = [];
  readonly irqs = [];
  readonly log: string[] = [];
  space: AddressSpace | null = null;
  private readonly run = new DmaRun();
  failNext = false;

  constructor(private readonly ioasNames: Map<unknown, string> = new Map()) {}

  attachIoas(space: AddressSpace | null): void {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('injected hook failure');
    }
    this.log.push(`attach ${space === null ? 'null' : (this.ioasNames.get(space) ?? 'space')}`);
    this.space = space;
  }

  close(): void {
    this.log.push('close');
  }

  reset(): void {
    this.log.push('reset');
  }

  /** One byte read by DMA at `iova`, or -1 for a fault. */
  dmaRead(iova: number): number {
    if (this.space === null || this.space.translate(iova, 1, false, this.run) === 0) return -1;
    return this.run.bytes[this.run.offset] as number;
  }
}

/** Two IOASes over one memory whose byte at 0x1000·k is k + 1; `a` maps page 1 at 0x10000, `b` page 2. */
function world(): { a: VfioIoas; b: VfioIoas; model: DmaDevice; dev: VfioDevice } {
  const mem = new GuestMemory(0x4000);
  for (let k = 0; k < 4; k++) mem.bytes[k * 0x1000] = k + 1;
  const a = new VfioIoas();
  const b = new VfioIoas();
  a.map({ iova: 0x10000, size: 0x1000, memory: mem, offset: 0x1000, flags: RW });
  b.map({ iova: 0x10000, size: 0x1000, memory: mem, offset: 0x2000, flags: RW });
  const model = new DmaDevice(new Map<unknown, string>([[a.space, 'a'], [b.space, 'b']]));
  return { a, b, model, dev: new VfioDevice(model) };
}

describe('attaching a device to an IOAS', () => {
  it('starts detached: no IOAS, no hook call, every DMA faults', () => {
    const { model, dev } = world();
    expect(dev.ioas).toBeNull();
    expect(model.log).toEqual([]);
    expect(model.dmaRead(0x10000)).toBe(-1);
  });

  it('hands the device the IOAS space, through which its DMA reaches the mapped memory', () => {
    const { a, model, dev } = world();
    dev.attachIoas(a);
    expect(dev.ioas).toBe(a);
    expect(model.log).toEqual(['attach a']);
    expect(model.dmaRead(0x10000)).toBe(2);
    expect(model.dmaRead(0x11000)).toBe(-1);
  });

  it('replaces the IOAS when attached again', () => {
    const { a, b, model, dev } = world();
    dev.attachIoas(a);
    dev.attachIoas(b);
    expect(dev.ioas).toBe(b);
    expect(model.log).toEqual(['attach a', 'attach b']);
    expect(model.dmaRead(0x10000)).toBe(3);
  });

  it('detaches: the hook gets null and DMA faults; detaching again does nothing', () => {
    const { a, model, dev } = world();
    dev.attachIoas(a);
    dev.detachIoas();
    dev.detachIoas();
    expect(dev.ioas).toBeNull();
    expect(model.log).toEqual(['attach a', 'attach null']);
    expect(model.dmaRead(0x10000)).toBe(-1);
  });

  it('stays attached across a device reset', () => {
    const { a, model, dev } = world();
    dev.attachIoas(a);
    dev.reset();
    expect(dev.ioas).toBe(a);
    expect(model.log).toEqual(['attach a', 'reset']);
  });

  it('close runs the device close, then detaches it', () => {
    const { a, model, dev } = world();
    dev.attachIoas(a);
    dev.close();
    expect(model.log).toEqual(['attach a', 'close', 'attach null']);
    expect(model.space).toBeNull();
  });

  it('close of a handle that was never attached does not call the hook', () => {
    const { model, dev } = world();
    dev.close();
    expect(model.log).toEqual(['close']);
  });

  it('answers EBADF after close', () => {
    const { a, model, dev } = world();
    dev.close();
    expect(() => dev.attachIoas(a)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(() => dev.detachIoas()).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(model.log).toEqual(['close']);
  });

  it('answers ENOTTY for a device without the hook, and stays detached', () => {
    const dev = new VfioDevice(new TestDevice());
    expect(() => dev.attachIoas(new VfioIoas())).toThrow(expect.objectContaining({ code: 'ENOTTY', errno: 25 }));
    expect(() => dev.detachIoas()).toThrow(expect.objectContaining({ code: 'ENOTTY' }));
    expect(dev.ioas).toBeNull();
  });

  it('keeps the previous IOAS when the device hook throws', () => {
    const { a, b, model, dev } = world();
    dev.attachIoas(a);
    model.failNext = true;
    expect(() => dev.attachIoas(b)).toThrow('injected hook failure');
    expect(dev.ioas).toBe(a);
  });

  it('lets several devices share one IOAS: a map and an unmap are seen by all of them at once', () => {
    const { a } = world();
    const m1 = new DmaDevice();
    const m2 = new DmaDevice();
    new VfioDevice(m1).attachIoas(a);
    new VfioDevice(m2).attachIoas(a);
    const mem = new GuestMemory(0x1000);
    mem.bytes[0] = 0x77;
    a.map({ iova: 0x20000, size: 0x1000, memory: mem, offset: 0, flags: RW });
    expect([m1.dmaRead(0x20000), m2.dmaRead(0x20000)]).toEqual([0x77, 0x77]);
    expect(a.unmap({ iova: 0x10000, size: 0x1000, flags: 0 })).toBe(0x1000);
    expect([m1.dmaRead(0x10000), m2.dmaRead(0x10000)]).toEqual([-1, -1]);
    expect([m1.dmaRead(0x20000), m2.dmaRead(0x20000)]).toEqual([0x77, 0x77]);
  });

  it('the PCI adapter forwards attach and detach to onAttachIoas, and lacks the hook without it', () => {
    const seen: (AddressSpace | null)[] = [];
    const ioas = new VfioIoas();
    const dev = new VfioDevice(pciVfioOps(vdevLikeFunction().fn, { onAttachIoas: (space) => seen.push(space) }));
    dev.attachIoas(ioas);
    dev.detachIoas();
    expect(seen).toEqual([ioas.space, null]);
    const plain = new VfioDevice(pciVfioOps(vdevLikeFunction().fn));
    expect(() => plain.attachIoas(ioas)).toThrow(expect.objectContaining({ code: 'ENOTTY' }));
  });
});
