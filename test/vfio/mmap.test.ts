import { describe, expect, it } from 'vitest';
import { VfioDevice, regionOffset } from '../../src/vfio/index.js';
import { TestDevice } from './test-device.js';

const BAR2 = regionOffset(2);

function open(): { model: TestDevice; dev: VfioDevice<{ region: number; offset: number; length: number }> } {
  const model = new TestDevice({ extraRegions: true });
  return { model, dev: new VfioDevice(model) };
}

describe('mmap of sparse-mmap areas', () => {
  it('hands out the object the device maps on each page of BAR2', () => {
    const { model, dev } = open();
    expect(dev.mmap(BAR2, 0x1000)).toEqual({ region: 2, offset: 0, length: 0x1000 });
    expect(dev.mmap(BAR2 + 0x1000, 0x1000)).toEqual({ region: 2, offset: 0x1000, length: 0x1000 });
    expect(model.log).toEqual(['open', 'bar2 mmap 0x1000 @0x0', 'bar2 mmap 0x1000 @0x1000']);
  });

  it('maps anywhere in an MMAP region without sparse areas, in whole pages', () => {
    const { dev } = open();
    expect(dev.mmap(regionOffset(4) + 0x1000, 0x3000)).toEqual({ region: 4, offset: 0x1000, length: 0x3000 });
  });

  describe('rejections: EINVAL, no mapping made', () => {
    const cases: [string, number, number, boolean?][] = [
      ['a range spanning two sparse areas', BAR2, 0x2000],
      ['a range that is not whole pages', BAR2, 0x800],
      ['an offset that is not page aligned', BAR2 + 0x800, 0x1000],
      ['a region without MMAP (BAR0)', regionOffset(0), 0x1000],
      ['config space', regionOffset(7), 0x1000],
      ['an absent region', regionOffset(1), 0x1000],
      ['a region index past the table', regionOffset(12), 0x1000],
      ['a range past the end of the region', regionOffset(4) + 0x3000, 0x2000],
      ['a length of zero', BAR2, 0],
      ['a private mapping', BAR2, 0x1000, false],
    ];
    for (const [what, pos, len, shared] of cases) {
      it(what, () => {
        const { model, dev } = open();
        model.log.length = 0;
        expect(() => dev.mmap(pos, len, shared)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
        expect(model.log).toEqual([]);
      });
    }
  });
});
