/**
 * Registers as a header: every register's name, offset, size and field layout are stated once, in
 * src/dsa/spec/register-fields.ts; the device model's table and the vdev's state only their policy.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as dsa from '../../src/dsa/index.js';
import { bar0Layout, BAR0_BLOCKS, type BlockDef, type BlockLayout, dsaProfile, RegisterFile, type RegisterLayout } from '../../src/dsa/index.js';
import { inspectDevice } from '../../src/cli/system.js';
import { VDEV_BLOCKS, VDEV_LAYOUT } from '../../src/vidxd/index.js';

const SRC = join(import.meta.dirname, '..', '..', 'src');

/** The header's registers by name. */
const HEADER = new Map<string, RegisterLayout>(
  Object.entries(dsa).filter(([k]) => k.endsWith('_REG')).map(([, v]) => [(v as RegisterLayout).name, v as RegisterLayout]),
);

describe('the register header', () => {
  it('has every register of the model and of both vdev types, at the offset and size the tables compile', () => {
    const blocks = [...BAR0_BLOCKS, ...VDEV_BLOCKS.dedicated, ...VDEV_BLOCKS.shared];
    const seen: string[] = [];
    for (const b of blocks) {
      for (const r of b.registers) {
        const h = HEADER.get(r.name);
        expect(h, r.name).toBeDefined();
        expect([r.name, r.offset, r.size]).toEqual([h?.name, h?.offset, h?.size]);
        for (const f of r.fieldList) {
          const bits = Object.values(h?.bits ?? {}).find((x) => x.lo === f.lo);
          expect([r.name, f.name, bits?.width]).toEqual([r.name, f.name, f.width]);
        }
        seen.push(r.name);
      }
    }
    expect(new Set(seen).size).toBe(HEADER.size);
  });

  it('is the only place an offset is written: neither table declares a register by offset', () => {
    for (const file of ['dsa/device/registers.ts', 'vidxd/registers.ts']) {
      const text = readFileSync(join(SRC, file), 'utf8');
      expect(text.match(/\bregister\(\s*'/g) ?? [], file).toEqual([]);
      expect((text.match(/\bregisterFrom\(/g) ?? []).length, file).toBeGreaterThan(10);
      expect(text.match(/\bstride:/g) ?? [], file).toEqual([]);
    }
  });

  it('places every block of both tables as its header entry says: name, stride, instance, and the layout offset it names', () => {
    const tables = new Map<string, BlockLayout>(
      Object.entries(dsa).filter(([k]) => k.endsWith('_TABLE')).map(([, v]) => [(v as BlockLayout).name, v as BlockLayout]),
    );
    const profile = dsaProfile();
    const model = new RegisterFile({ profile, layout: bar0Layout(profile) }, BAR0_BLOCKS, bar0Layout(profile).bar0Size);
    const vdev = inspectDevice('dsa-1swq-v1').regs;
    for (const [rf, blocks] of [[model, BAR0_BLOCKS], [vdev, VDEV_BLOCKS.shared]] as const) {
      for (const b of blocks) {
        const t = tables.get(b.name);
        expect([b.name, b.stride, b.instance]).toEqual([t?.name, t?.stride, t?.instance]);
        const at = t?.at ?? null;
        const layout = rf === model ? bar0Layout(profile) : VDEV_LAYOUT;
        expect(rf.placement(b as BlockDef).base).toBe(at === null ? 0 : layout[at]);
      }
    }
  });
});
