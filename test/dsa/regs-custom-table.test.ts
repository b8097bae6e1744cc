/**
 * The register mechanism serves other register files too: a table built from the shared field
 * layouts with its own offsets and policy compiles into a RegisterFile with the owner's hooks and locks.
 */
import { describe, expect, it } from 'vitest';
import {
  bar0Layout, type BlockDef, CMD_BITS, dsaProfile, fields, type Lock, policies, register, RegisterFile, registerFrom, ro, rw, status, wo, WQCFG_BITS,
  WQCFG_REG,
} from '../../src/dsa/index.js';
import { vdevRegisterContext } from '../../src/vidxd/index.js';

const VCMD = register('CMD', 0xa0, 4, 'Command', fields(CMD_BITS, { operand: wo(), cmd: wo(), intReq: wo() }), { hook: true });
const VWQCFG = register('WQCFG', 0, 32, 'WQ configuration (virtual)', fields(WQCFG_BITS, {
  wqSize: ro(64),
  mode: ro(1),
  pasid: rw({ lock: 'wq-disabled' }),
  pasidEn: rw({ lock: 'wq-disabled' }),
  occupancy: status(),
}));
const BLOCKS: readonly BlockDef<unknown>[] = [
  { name: 'General', doc: 'general', base: () => 0, stride: 0x100, count: () => 1, instance: 'device', registers: [VCMD] },
  { name: 'WQCFG', doc: 'one WQ', base: () => 0x500, stride: 32, count: () => 1, instance: 'WQ', registers: [VWQCFG] },
];

describe('a register file of another table', () => {
  it('applies its own offsets, reset values, access rules, locks and hooks', () => {
    const profile = dsaProfile();
    const rf = new RegisterFile({ profile, layout: bar0Layout(profile) }, BLOCKS, 0x2000);
    let wqEnabled = false;
    const commands: number[] = [];
    rf.connect({
      hooks: { CMD: (_i, _o, size, v) => size === 4 && commands.push(v) },
      writable: (lock: Lock) => lock === 'wq-disabled' && !wqEnabled,
    });
    expect([rf.read(0x500, 4), rf.read(0x508, 4)]).toEqual([64, 1]);
    rf.write(0x500, 4, 0xffff);
    rf.write(0x508, 4, 0xffffffff);
    expect([rf.read(0x500, 4), rf.read(0x508, 4)]).toEqual([64, (1 | (0xfffff << 8) | (1 << 28)) >>> 0]);
    wqEnabled = true;
    rf.write(0x508, 4, 1);
    expect(rf.read(0x508, 4) >>> 28).toBe(1);
    rf.write(0xa0, 4, 0x00600003);
    rf.write(0xa0, 2, 0x1234);
    expect(commands).toEqual([0x00600003]);
    expect(() => new RegisterFile({ profile, layout: bar0Layout(profile) }, BLOCKS, 0x2000).connect({})).toThrow(/CMD needs a write hook/);
  });

  it('calls the owner\'s refresh hook before each software read of a register declared refresh', () => {
    const live = register('LIVE', 0x10, 8, 'Live value', fields(WQCFG_BITS, { wqSize: status(), wqThresh: ro(3) }), { refresh: true });
    const blocks: BlockDef<unknown>[] = [{ name: 'B', doc: 'b', base: () => 0x100, stride: 0x20, count: () => 2, instance: 'x', registers: [live] }];
    const profile = dsaProfile();
    const rf = new RegisterFile({ profile, layout: bar0Layout(profile) }, blocks, 0x200);
    expect(() => rf.connect({})).toThrow(/LIVE needs a refresh hook/);
    const seen: number[] = [];
    let n = 0;
    rf.connect({ refresh: { LIVE: (i) => { seen.push(i); rf.set(live, live.fields.wqSize, i, ++n); } } });
    expect([rf.read(0x110, 4), rf.read(0x134, 4), rf.read(0x130, 2)]).toEqual([1, 3, 3]);
    expect(seen).toEqual([0, 1, 1]);
    rf.read(0x100, 4);
    rf.write(0x110, 4, 0);
    expect(seen).toEqual([0, 1, 1]);
  });

  it('refuses overlapping registers and fields when a table is built', () => {
    expect(() => register('X', 0, 4, 'x', fields(WQCFG_BITS, { wqSize: ro(), wqThresh: ro() }))).toThrow(/leaves the register/);
    const profile = dsaProfile();
    const twice: BlockDef<unknown> = { name: 'B', doc: 'b', base: () => 0x500, stride: 32, count: () => 2, instance: 'WQ', registers: [VWQCFG] };
    const clash: BlockDef<unknown> = { ...twice, base: () => 0x510 };
    expect(() => new RegisterFile({ profile, layout: bar0Layout(profile) }, [twice, clash], 0x2000)).toThrow(/overlaps/);
  });

  it('a file made from a template shares its compiled tables but keeps its own values', () => {
    const profile = dsaProfile();
    const context = { profile, layout: bar0Layout(profile) };
    const template = new RegisterFile(context, BLOCKS, 0x2000);
    const a = new RegisterFile(context, BLOCKS, 0x2000, template);
    const b = new RegisterFile(context, BLOCKS, 0x2000, template);
    for (const rf of [a, b]) rf.connect({ hooks: { CMD: () => {} }, writable: () => true });
    a.write(0x508, 4, 0x100);
    expect([a.read(0x508, 4), b.read(0x508, 4), template.read(0x508, 4)]).toEqual([0x101, 1, 1]);
    // Same masks: a read-only field stays read-only in both.
    b.write(0x500, 4, 0xffff);
    expect(b.read(0x500, 4)).toBe(64);
    a.reset(true);
    expect(a.read(0x508, 4)).toBe(1);
    expect(() => new RegisterFile(context, [...BLOCKS], 0x2000, template)).toThrow(RangeError);
    expect(() => new RegisterFile(context, BLOCKS, 0x1000, template)).toThrow(RangeError);
  });

  it('is generic in its context: a table computed from its own context compiles for it alone, with no DSA profile', () => {
    interface Ctx { readonly entries: number; readonly size: number }
    const at = policies<Ctx>();
    const wq = registerFrom(WQCFG_REG, { wqSize: at.ro((c) => c.size), mode: ro(1), pasid: rw() });
    const blocks: readonly BlockDef<Ctx>[] = [
      { name: 'WQCFG', doc: 'entries', base: () => 0x40, stride: 32, count: (c) => c.entries, instance: 'WQ', registers: [wq] },
    ];
    const rf = new RegisterFile({ entries: 3, size: 77 }, blocks, 0x100);
    expect([rf.read(0x40, 4), rf.read(0x80, 4), rf.read(0xa0, 4), rf.placement(blocks[0] as BlockDef<Ctx>)]).toEqual([77, 77, 0, { base: 0x40, count: 3 }]);
    expect(rf.context.size).toBe(77);
    // The vdev's own context: its facts and its layout, nothing standing in for a DSA profile.
    const facts = { mode: 'dedicated' } as Parameters<typeof vdevRegisterContext>[0];
    expect(Object.keys(vdevRegisterContext(facts)).sort()).toEqual(['facts', 'layout']);
  });
});
