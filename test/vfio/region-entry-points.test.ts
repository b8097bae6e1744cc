import { describe, expect, it } from 'vitest';
import { VfioDevice, VfioError, regionOffset } from '../../src/vfio/index.js';
import { TestDevice } from './test-device.js';

type Dir = 'r' | 'w';

/** What one access did: the result or errno, the bytes it read, the handler calls, the device state. */
interface Outcome {
  readonly result: number | string;
  readonly buf: number[];
  readonly log: string[];
  readonly state: number[];
}

function attempt(form: 'position' | 'region', dir: Dir, index: number, offset: number, len: number): Outcome {
  const model = new TestDevice({ extraRegions: true });
  const dev = new VfioDevice(model);
  model.log.length = 0;
  const buf = Uint8Array.from({ length: len }, (_, i) => 0xa0 + i);
  let result: number | string;
  try {
    if (form === 'position') {
      const pos = regionOffset(index) + offset;
      result = dir === 'r' ? dev.read(pos, buf) : dev.write(pos, buf);
    } else {
      result = dir === 'r' ? dev.readRegion(index, offset, buf) : dev.writeRegion(index, offset, buf);
    }
  } catch (e) {
    if (!(e instanceof VfioError)) throw e;
    result = e.code;
  }
  return { result, buf: [...buf], log: model.log, state: [...model.config, ...model.bar0] };
}

/** [case, direction, region index, region offset, length, expected result]. */
const CASES: [string, Dir, number, number, number, number | string][] = [
  ['config dword at 0', 'r', 7, 0, 4, 4],
  ['config read of any length (split)', 'r', 7, 1, 7, 7],
  ['config write of the command register', 'w', 7, 4, 2, 2],
  ['config access ending at the end', 'r', 7, 0xff, 1, 1],
  ['config access crossing the end', 'r', 7, 0xfe, 4, 'EINVAL'],
  ['config access of 0 bytes', 'r', 7, 0, 0, 'EINVAL'],
  ['BAR0 8-byte write', 'w', 0, 0x10, 8, 8],
  ['BAR0 1-byte read', 'r', 0, 0x13, 1, 1],
  ['BAR0 access of 3 bytes', 'w', 0, 0, 3, 'EINVAL'],
  ['BAR0 access of 16 bytes', 'r', 0, 0, 16, 'EINVAL'],
  ['BAR0 unaligned 4-byte access', 'r', 0, 2, 4, 'EINVAL'],
  ['BAR0 access past the end', 'w', 0, 0x1000, 4, 'EINVAL'],
  ['BAR0 access at the last offset of the position span', 'r', 0, 2 ** 40 - 4, 4, 'EINVAL'],
  ['BAR2 read (all ones)', 'r', 2, 0x1000, 8, 8],
  ['BAR2 write of 64 bytes', 'w', 2, 0x40, 64, 64],
  ['BAR2 write of 4 bytes (not allowed)', 'w', 2, 0, 4, 'EINVAL'],
  ['absent region 1', 'r', 1, 0, 4, 'EINVAL'],
  ['absent region 8 (VGA)', 'w', 8, 0, 4, 'EINVAL'],
  ['read-only region 9 read', 'r', 9, 0x10, 4, 4],
  ['read-only region 9 write', 'w', 9, 0x10, 4, 'EINVAL'],
  ['region index beyond the table', 'r', 10, 0, 4, 'EINVAL'],
  ['the largest region index a position holds', 'r', 8191, 0, 4, 'EINVAL'],
];

describe('readRegion/writeRegion and read/write agree on every access', () => {
  for (const [name, dir, index, offset, len, expected] of CASES) {
    it(`${name} → ${expected}`, () => {
      const byPosition = attempt('position', dir, index, offset, len);
      const byRegion = attempt('region', dir, index, offset, len);
      expect(byRegion.result).toBe(expected);
      expect(byPosition).toEqual(byRegion);
      if (typeof expected === 'string') expect(byRegion.log).toEqual([]);
    });
  }
});

describe('region-form arguments no position can express', () => {
  const cases: [string, number, number][] = [
    ['an offset of 2^40 (the next region in position form)', 7, 2 ** 40],
    ['a negative offset', 7, -4],
    ['a fractional offset', 7, 0.5],
    ['a NaN offset', 7, Number.NaN],
    ['a negative index', -1, 0],
    ['a fractional index', 6.5, 0],
  ];
  for (const [name, index, offset] of cases) {
    it(`${name} → EINVAL, no handler called`, () => {
      for (const dir of ['r', 'w'] as const) {
        const out = attempt('region', dir, index, offset, 4);
        expect(out.result).toBe('EINVAL');
        expect(out.log).toEqual([]);
        expect(out.buf).toEqual([0xa0, 0xa1, 0xa2, 0xa3]);
      }
    });
  }

  it('positions that are negative, fractional or NaN → EINVAL in position form', () => {
    const model = new TestDevice();
    const dev = new VfioDevice(model);
    model.log.length = 0;
    for (const pos of [-4, regionOffset(7) + 0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => dev.read(pos, new Uint8Array(4))).toThrow(expect.objectContaining({ code: 'EINVAL' }));
      expect(() => dev.write(pos, new Uint8Array(4))).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    }
    expect(model.log).toEqual([]);
  });
});
