/** Applying a configuration: shape errors are EINVAL; what the device refuses comes back with its CMDSTS code and meaning. */
import { describe, expect, it } from 'vitest';
import { CmdStatus, GENCFG, GRPFLAGS, WQCFG } from '../../src/dsa/index.js';
import { type DeviceConfig, HostError } from '../../src/host/index.js';
import { hostRig, TWO_GROUPS } from './host-fixtures.js';

function probed(profile = {}) {
  const r = hostRig(profile);
  r.host.probe();
  return r;
}

function refusal(f: () => void): HostError {
  try {
    f();
  } catch (e) {
    if (e instanceof HostError) return e;
    throw e;
  }
  throw new Error('expected a HostError');
}

const wqs = (over: Partial<DeviceConfig['wqs'][number]>): DeviceConfig => ({
  groups: [{ id: 0, engines: [0] }],
  wqs: [{ id: 0, group: 0, mode: 'dedicated', size: 8, ...over }],
});

describe('configuration', () => {
  it('writes WQCFG and GRPCFG as Linux does: sizes, modes, thresholds, priorities, TCs and read buffers', () => {
    const { dev, host } = probed();
    host.configure(TWO_GROUPS);
    const regs = dev.regs;
    expect([0, 1, 2, 3].map((q) => [regs.get(WQCFG, WQCFG.fields.wqSize, q), regs.get(WQCFG, WQCFG.fields.mode, q)])).toEqual([
      [16, 1], [32, 0], [16, 1], [32, 0],
    ]);
    expect([regs.get(WQCFG, WQCFG.fields.wqThresh, 1), regs.get(WQCFG, WQCFG.fields.priority, 1), regs.get(WQCFG, WQCFG.fields.pasidEn, 1)]).toEqual([24, 10, 1]);
    expect([regs.get(WQCFG, WQCFG.fields.pasid, 2), regs.get(WQCFG, WQCFG.fields.priv, 2), regs.get(WQCFG, WQCFG.fields.pasidEn, 0)]).toEqual([2, 1, 0]);
    expect(dev.bar0.read32(0x400)).toBe(0b0011);
    expect(dev.bar0.read32(0x420)).toBe(0b0011);
    expect(dev.bar0.read32(0x440)).toBe(0b1100);
    expect(dev.bar0.read32(0x460)).toBe(0b0100);
    expect([regs.get(GRPFLAGS, GRPFLAGS.fields.tcA, 0), regs.get(GRPFLAGS, GRPFLAGS.fields.rdbufsAllowed, 0), regs.get(GRPFLAGS, GRPFLAGS.fields.rdbufsAllowed, 2)]).toEqual([1, 96, 0]);
    expect(host.wq(3).groupFlags).toEqual([(1 | 1 << 3 | 96 << 20) >>> 0, 0]);
  });

  it('reports what the device refuses with its CMDSTS code and a readable message', () => {
    const cases: [DeviceConfig, number, RegExp][] = [
      [{ groups: [{ id: 0, engines: [0] }], wqs: [{ id: 0, group: 0, mode: 'dedicated', size: 100 }, { id: 1, group: 0, mode: 'shared', size: 29 }] },
        CmdStatus.WQ_SIZE_RANGE, /enable device failed: CMDSTS 0x14 ERR_WQ_SIZE_ERANGE: sum of the WQ sizes exceeds/],
      [{ groups: [{ id: 0, engines: [0] }, { id: 1, engines: [0] }], wqs: [] }, CmdStatus.GROUP_ENGINES, /0x16 .*engine belongs to more than one group/],
      [{ groups: [{ id: 0, engines: [] }], wqs: [{ id: 0, group: 0, mode: 'dedicated', size: 8 }] }, CmdStatus.GROUP_NO_ENGINE, /0x17/],
      [{ groups: [{ id: 0, engines: [0], readBuffersReserved: 97 }], wqs: [] }, CmdStatus.GROUP_READ_BUFFERS, /0x18/],
      [{ groups: [{ id: 0, engines: [0] }], wqs: [], readBufferLimit: 200 }, CmdStatus.CONFIG_ERROR, /0x11/],
      [wqs({ priority: 0 }), CmdStatus.WQ_PRIORITY, /enable WQ 0 failed: CMDSTS 0x23/],
      [wqs({ size: 0 }), CmdStatus.WQ_SIZE, /0x22/],
      [wqs({ maxBatchShift: 11 }), CmdStatus.MAX_BATCH_SIZE, /0x27/],
      [wqs({ mode: 'shared', threshold: 9 }), CmdStatus.WQ_SIZE, /threshold above the size/],
    ];
    for (const [cfg, code, message] of cases) {
      const e = refusal(() => probed().host.load(cfg));
      expect([e.code, e.errno, e.cmdStatus], message.source).toEqual(['ENXIO', 6, code]);
      expect(e.message).toMatch(message);
    }
  });

  it('refuses a malformed configuration with EINVAL before touching the device', () => {
    const bad: DeviceConfig[] = [
      { groups: [{ id: 4, engines: [] }], wqs: [] },
      { groups: [{ id: 0, engines: [4] }], wqs: [] },
      { groups: [{ id: 0, engines: [] }, { id: 0, engines: [] }], wqs: [] },
      { groups: [{ id: 0, engines: [0] }], wqs: [{ id: 8, group: 0, mode: 'dedicated', size: 1 }] },
      { groups: [{ id: 0, engines: [0] }], wqs: [{ id: 0, group: 1, mode: 'dedicated', size: 1 }] },
      { groups: [{ id: 0, engines: [0] }], wqs: [{ id: 0, group: 0, mode: 'shared', size: 1, pasid: 3 }] },
      { groups: [{ id: 0, engines: [0] }], wqs: [{ id: 0, group: 0, mode: 'dedicated', size: 1.5 }] },
      { groups: [{ id: 0, engines: [0] }], wqs: [{ id: 0, group: 0, mode: 'dedicated', size: 1 }, { id: 0, group: 0, mode: 'dedicated', size: 1 }] },
    ];
    for (const cfg of bad) {
      const { dev, host } = probed();
      const e = refusal(() => host.configure(cfg));
      expect([e.code, e.cmdStatus], JSON.stringify(cfg)).toEqual(['EINVAL', undefined]);
      expect(dev.bar0.read32(0x800)).toBe(0);
    }
  });

  it('refuses to configure an enabled device with EBUSY', () => {
    const { host } = probed();
    host.load(TWO_GROUPS);
    expect(refusal(() => host.configure(TWO_GROUPS)).code).toBe('EBUSY');
  });

  it('sets GENCFG.user_int_en by default exactly when a WQ is mediated (its vdevs\' Priv-0 PASID descriptors request interrupts); an explicit value wins', () => {
    const userIntEn = (cfg: DeviceConfig): [boolean, number] => {
      const { dev, host } = probed();
      host.load(cfg);
      return [host.userInterrupts, dev.regs.get(GENCFG, GENCFG.fields.userIntEn)];
    };
    const unmediated: DeviceConfig = { ...TWO_GROUPS, wqs: TWO_GROUPS.wqs.map((w) => ({ ...w, mediated: false })) };
    expect(userIntEn(TWO_GROUPS)).toEqual([true, 1]);
    expect(userIntEn(unmediated)).toEqual([false, 0]);
    expect(userIntEn({ ...TWO_GROUPS, userInterrupts: false })).toEqual([false, 0]);
    expect(userIntEn({ ...unmediated, userInterrupts: true })).toEqual([true, 1]);
  });

  it('leaves WQs marked enabled: false configured but disabled', () => {
    const { host } = probed();
    host.load({ ...TWO_GROUPS, wqs: TWO_GROUPS.wqs.map((w) => (w.id === 3 ? { ...w, enabled: false } : w)) });
    expect([host.wq(3).configured, host.wq(3).enabled, host.mediatedWqs().map((w) => w.id)]).toEqual([true, false, [2]]);
    host.wq(3).enable();
    expect(host.wq(3).enabled).toBe(true);
  });
});
