/** `vidxd regs`: every register of the device's tables, at its offset, with its fields and the value read through BAR0. */
import { describe, expect, it } from 'vitest';
import { BAR0_BLOCKS, type BlockDef, DsaDevice } from '../../src/dsa/index.js';
import { VDEV_BLOCKS } from '../../src/vidxd/index.js';
import { inspectDevice } from '../../src/cli/system.js';
import { run } from './run.js';

/** Every `offset size name` line the tables imply (every instance of a block of at most `limit`, else two). */
function expectedLines(blocks: readonly BlockDef[], type: 'dsa-1dwq-v1' | 'dsa-1swq-v1' | 'pf', limit: number): string[] {
  const regs = inspectDevice(type).regs;
  const out: string[] = [];
  for (const b of blocks) {
    const { base, count: n } = regs.placement(b);
    for (let i = 0; i < (n <= limit ? n : 2); i++) {
      for (const r of b.registers) out.push(`0x${(base + i * b.stride + r.offset).toString(16).padStart(4, '0')}  ${String(r.size).padStart(2)}  ${r.name} `);
    }
  }
  return out;
}

describe('vidxd regs', () => {
  it.each([
    ['dsa-1dwq-v1', VDEV_BLOCKS.dedicated],
    ['dsa-1swq-v1', VDEV_BLOCKS.shared],
  ] as const)('--type %s lists every register of the vdev\'s table with its fields', async (type, blocks) => {
    const r = await run('regs', '--type', type);
    expect(r.status).toBe(0);
    const want = expectedLines(blocks, type, Infinity);
    expect(want.length).toBeGreaterThan(20);
    for (const line of want) expect(r.out).toContain(line);
    expect(r.out).toMatch(/^0x0000 {3}4 {2}VERSION {5}0x00000100$/m);
    expect(r.out).toMatch(/^ {14}state \[1:0\] +=/m);
    expect(r.out).toMatch(/^ {14}wq_size \[15:0\] += 0x(20|40) +RO /m);
  });

  it('--type pf lists the PF\'s table, two instances of its 2048-entry IMS table unless --all', async () => {
    const r = await run('regs', '--type', 'pf');
    expect(r.status).toBe(0);
    for (const line of expectedLines(BAR0_BLOCKS, 'pf', 16)) expect(r.out).toContain(line);
    expect(r.out).toMatch(/… 2046 more, up to entry 2047 \(--all lists every one\)/);
    const all = await run('regs', '--type', 'pf', '--all');
    expect(all.out.match(/ IMS_ENTRY /g)).toHaveLength(new DsaDevice().profile.imsMultiplier * 256);
  });

  it('--enabled shows the vdev after bring-up: Enabled, WQ enabled, PASID programmed', async () => {
    const r = await run('regs', '--type', 'dsa-1swq-v1', '--enabled');
    expect(r.out).toMatch(/^ {14}state \[1:0\] += 0x1 /m);
    expect(r.out).toMatch(/^ {14}wq_state \[223:222\] += 0x1 /m);
    expect(r.out).toMatch(/^ {14}pasid_en \[92\] += 1 /m);
  });
});
