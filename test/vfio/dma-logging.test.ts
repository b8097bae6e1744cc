/**
 * DMA logging of a device handle (features DMA_LOGGING_START / _STOP / _REPORT, vfio-uapi.md §7.2,
 * §9.3): ENOTTY without the device's option; the checks of START and REPORT in the kernel's order
 * with their errnos; the byte forms (inline, as vfio-user carries them, and the ioctl form with user
 * pointers); the log following the IOAS the device is attached to; and, on a vdev running the reference
 * driver, every path that writes guest memory marks its pages — data, completion records, a delta
 * record, a batch's element records — while pages only read stay clean.
 */
import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../../src/memory/index.js';
import {
  DMA_LOGGING_START_SIZE, encodeDmaLoggingReport, encodeDmaLoggingStart, VFIO_DEVICE_FEATURE, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
  VFIO_DEVICE_FEATURE_DMA_LOGGING_START, VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, VFIO_DEVICE_FEATURE_GET, VFIO_DEVICE_FEATURE_PROBE,
  VFIO_DEVICE_FEATURE_SET, VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, VfioDevice, VfioIoas, VfioIoctl,
} from '../../src/vfio/index.js';
import { openVm } from '../guest/fixtures.js';
import { errnoOf } from '../util/errno.js';
import { TestDevice } from './test-device.js';
import { DWQ, SWQ } from '../vidxd/fixtures.js';

const PAGE = 0x1000;
const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;

/** The set units of a report bitmap, as IOVAs. */
function units(bitmap: Uint8Array, iova: number, length: number, pageSize = PAGE): number[] {
  const out: number[] = [];
  for (let u = 0; u < Math.ceil(length / pageSize); u++) if (((bitmap[u >>> 3] as number) >>> (u & 7)) & 1) out.push(iova + u * pageSize);
  return out;
}

describe('DMA logging: the feature checks', () => {
  it('answers ENOTTY on a device without the option, for every one of the three and for PROBE', () => {
    const dev = new VfioDevice(new TestDevice());
    for (const f of [VFIO_DEVICE_FEATURE_DMA_LOGGING_START, VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP]) {
      expect(errnoOf(() => dev.feature(VFIO_DEVICE_FEATURE_SET | f, new Uint8Array(16)))).toBe('ENOTTY');
      expect(errnoOf(() => dev.feature(VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET | f))).toBe('ENOTTY');
    }
    expect(errnoOf(() => dev.feature(VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, new Uint8Array(32)))).toBe('ENOTTY');
    expect(errnoOf(() => dev.dmaLoggingStart({ pageSize: PAGE, ranges: [{ iova: 0, length: PAGE }] }))).toBe('ENOTTY');
  });

  it('checks START in the kernel\'s order and REPORT, with their errnos; PROBE succeeds; a small page size is rounded up', async () => {
    const vm = await openVm(DWQ);
    const d = vm.device;
    expect(d.feature(VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START)).toBeNull();
    const start = (pageSize: number, ranges: { iova: number; length: number }[]): string | undefined => errnoOf(() => d.dmaLoggingStart({ pageSize, ranges }));
    expect(start(3000, [{ iova: 0, length: PAGE }])).toBe('EINVAL');
    expect(start(PAGE, [])).toBe('EINVAL');
    expect(start(PAGE, Array.from({ length: 257 }, (_, i) => ({ iova: i * PAGE, length: PAGE })))).toBe('E2BIG');
    expect(start(PAGE, [{ iova: 0x800, length: PAGE }])).toBe('EINVAL');
    expect(start(PAGE, [{ iova: 0, length: 0 }])).toBe('EINVAL');
    expect(start(PAGE, [{ iova: 2 ** 53 - PAGE, length: 2 * PAGE }])).toBe('EOVERFLOW');
    expect(errnoOf(() => d.dmaLoggingStart({ pageSize: PAGE, ranges: [{ iova: 0n, length: 2n ** 64n }] }))).toBe('EOVERFLOW');
    expect(start(PAGE, [{ iova: 0, length: 2 * PAGE }, { iova: PAGE, length: PAGE }])).toBe('EINVAL');
    expect(errnoOf(() => d.dmaLoggingReport({ iova: 0, length: PAGE, pageSize: PAGE }))).toBe('EINVAL');
    expect(d.dmaLoggingStart({ pageSize: 512, ranges: [{ iova: 0, length: 1 << 20 }] })).toBe(PAGE);
    expect(start(PAGE, [{ iova: 0, length: PAGE }])).toBe('EBUSY');
    expect(errnoOf(() => d.dmaLoggingReport({ iova: 0, length: PAGE, pageSize: 2048 }))).toBe('EINVAL');
    expect(errnoOf(() => d.dmaLoggingReport({ iova: 0, length: PAGE, pageSize: 3 * PAGE }))).toBe('EINVAL');
    expect(errnoOf(() => d.dmaLoggingReport({ iova: 0, length: 0, pageSize: PAGE }))).toBe('EINVAL');
    expect(errnoOf(() => d.dmaLoggingReport({ iova: 2 ** 53 - PAGE, length: 2 * PAGE, pageSize: PAGE }))).toBe('EOVERFLOW');
    expect(errnoOf(() => d.dmaLoggingReport({ iova: 0, length: 65 * 64 * PAGE, pageSize: PAGE }, new Uint8Array(8)))).toBe('EINVAL');
    d.dmaLoggingStop();
    d.dmaLoggingStop();
    expect(d.dmaLogging).toBe(false);
  });

  it('takes the inline byte form (vfio-user) and the ioctl form with user pointers (EFAULT without user memory)', async () => {
    const vm = await openVm(DWQ);
    const d = vm.device;
    // Inline: START with its ranges after the fixed fields; the page size written back.
    const inline = encodeDmaLoggingStart(512, [{ iova: 0, length: 1 << 20 }]);
    d.feature(VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START, inline);
    expect(new DataView(inline.buffer).getBigUint64(0, true)).toBe(4096n);
    vm.mem.bytes.fill(1, 0x40000, 0x40100);
    await vm.g.memmove(0x50000, 0x40000, 0x100);
    const rep = encodeDmaLoggingReport(0, 1 << 20, PAGE);
    d.feature(VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, rep);
    expect(units(rep.subarray(24), 0, 1 << 20)).toContain(0x50000);
    expect(units(rep.subarray(24), 0, 1 << 20)).not.toContain(0x40000);
    d.dmaLoggingStop();
    // The ioctl form: `ranges` and `bitmap` are user pointers into a process memory.
    const user = new GuestMemory(0x10000);
    const resolve = (a: number, n: number): Uint8Array | null => (a + n <= user.size ? user.bytes.subarray(a, a + n) : null);
    const ioctl = new VfioIoctl(d, undefined, resolve);
    user.bytes.set(encodeDmaLoggingStart(PAGE, [{ iova: 0, length: 1 << 20 }]).subarray(DMA_LOGGING_START_SIZE), 0x100);
    const arg = new Uint8Array(32);
    const v = new DataView(arg.buffer);
    v.setUint32(0, 32, true);
    v.setUint32(4, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START, true);
    v.setBigUint64(8, 4096n, true);
    v.setUint32(16, 1, true);
    v.setBigUint64(24, 0x100n, true);
    ioctl.ioctl(VFIO_DEVICE_FEATURE, arg);
    await vm.g.memmove(0x60000, 0x40000, 0x100);
    const r = new Uint8Array(40);
    const rv = new DataView(r.buffer);
    rv.setUint32(0, 40, true);
    rv.setUint32(4, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, true);
    rv.setBigUint64(8, 0n, true);
    rv.setBigUint64(16, BigInt(1 << 20), true);
    rv.setBigUint64(24, 4096n, true);
    rv.setBigUint64(32, 0x1000n, true);
    ioctl.ioctl(VFIO_DEVICE_FEATURE, r);
    expect(units(user.bytes.subarray(0x1000, 0x1020), 0, 1 << 20)).toContain(0x60000);
    // A pointer that resolves to nothing: EFAULT; no user memory at all: EFAULT.
    rv.setBigUint64(32, 0xffff0n, true);
    expect(errnoOf(() => ioctl.ioctl(VFIO_DEVICE_FEATURE, r))).toBe('EFAULT');
    expect(errnoOf(() => new VfioIoctl(d).ioctl(VFIO_DEVICE_FEATURE, r))).toBe('EFAULT');
  });

  it('follows the device to another IOAS; closing the handle ends it', async () => {
    const vm = await openVm(DWQ);
    const d = vm.device;
    d.dmaLoggingStart({ pageSize: PAGE, ranges: [{ iova: 0, length: 1 << 20 }] });
    const other = new VfioIoas();
    other.map({ iova: 0, size: 1 << 20, memory: vm.mem, offset: 0, flags: RW });
    d.attachIoas(other);
    await vm.g.fill(0x70000, 0x100, 0x1122334455667788n);
    expect(units(d.dmaLoggingReport({ iova: 0, length: 1 << 20, pageSize: PAGE }), 0, 1 << 20)).toContain(0x70000);
    // Back to the first IOAS: the log comes along.
    d.attachIoas(vm.ioas);
    await vm.g.fill(0x72000, 0x100, 1n);
    expect(units(d.dmaLoggingReport({ iova: 0, length: 1 << 20, pageSize: PAGE }), 0, 1 << 20)).toContain(0x72000);
    await vm.g.close();
    d.close();
    expect(errnoOf(() => d.dmaLoggingStop())).toBe('EBADF');
  });
});

describe.each([
  ['dedicated', DWQ],
  ['shared', SWQ],
] as const)('DMA logging on a %s vdev: every path that writes guest memory marks its pages', (_m, type) => {
  it('data and completion records; a delta record; a batch\'s results and element records; read-only pages stay clean', async () => {
    const vm = await openVm(type);
    const g = vm.g;
    const d = vm.device;
    const src = g.heap.alloc(0x2000, PAGE);
    const mod = g.heap.alloc(PAGE, PAGE);
    const dst = g.heap.alloc(0x3000, PAGE);
    const rec = g.heap.alloc(PAGE, PAGE);
    const bdst = g.heap.alloc(PAGE, PAGE);
    vm.mem.bytes.fill(3, src, src + 0x2000);
    vm.mem.bytes.fill(3, mod, mod + PAGE);
    vm.mem.bytes[mod + 16] = 9;
    d.dmaLoggingStart({ pageSize: PAGE, ranges: [{ iova: 0, length: 1 << 20 }] });
    const report = (): number[] => units(d.dmaLoggingReport({ iova: 0, length: 1 << 20, pageSize: PAGE }), 0, 1 << 20);
    await g.memmove(dst + 0x800, src, 0x2000);
    const a = report();
    expect(a).toEqual(expect.arrayContaining([dst, dst + PAGE, dst + 2 * PAGE]));
    expect(a).not.toContain(src);
    expect(a.length).toBeLessThanOrEqual(4); // the three data pages and the record's page
    const delta = await g.createDelta(src, mod, PAGE, rec, 0x100);
    expect(delta.recordSize).toBeGreaterThan(0);
    const b = report();
    expect(b).toContain(rec);
    expect(b).not.toContain(mod);
    const batch = await g.batch([
      { op: 'memmove', dst: bdst, src, size: 0x100 },
      { op: 'crc32c', src, size: 0x100 },
    ]);
    expect(batch.status).toBe(1);
    const c = report();
    expect(c).toContain(bdst);
    expect(c).not.toContain(src);
    // The batch's element records live on pages of the heap the driver allocated: something besides the data page was written.
    expect(c.length).toBeGreaterThan(1);
    expect(report()).toEqual([]);
  });
});
