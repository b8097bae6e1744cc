/** The host driver probes the device through config space and BAR0 only, finding every table through OFFSETS. */
import { describe, expect, it } from 'vitest';
import { DeviceState } from '../../src/dsa/index.js';
import { IdxdHost, HostError } from '../../src/host/index.js';
import { hostRig, TWO_GROUPS } from './host-fixtures.js';

describe('probe', () => {
  it('reads the capabilities of the default profile', () => {
    const { host } = hostRig();
    const info = host.probe();
    expect(info).toMatchObject({
      version: 0x100, gencap: [0x915f0107, 0x40], maxTransferShift: 31, maxBatchShift: 10, imsEntries: 2048,
      commandCapabilities: false, configurable: true, commands: 0x1ffe, totalWqSize: 128, wqs: 8, wqcfgSize: 32,
      sharedMode: true, dedicatedMode: true, groups: 4, readBuffers: 96, engines: 4,
      offsets: { grpcfg: 0x400, wqcfg: 0x800, msixPerm: 0x300, ims: 0x1000, perfmon: 0 },
      msix: { vectors: 9, tableBar: 0, tableOffset: 0x9000, pbaBar: 0, pbaOffset: 0xa000 },
    });
    expect(info.opcap.slice(0, 2)).toEqual([0x003f03ff, 1]);
  });

  it('leaves the device reset, bus-mastering, with MSI-X, PASID, ATS and PRI enabled and error interrupts on', () => {
    const { dev, host } = hostRig();
    host.probe();
    expect(dev.state).toBe(DeviceState.DISABLED);
    expect([dev.pci.busMaster, dev.msix.enabled, dev.msix.functionMasked]).toEqual([true, true, false]);
    expect([dev.pasid.enabled, dev.pasid.privilegedEnabled, dev.ats.enabled, dev.pri.enabled]).toEqual([true, true, true, true]);
    expect(dev.bar0.read32(0x88)).toBe(3);
    expect(host.pasidState).toEqual({ pasid: true, pasidPrivileged: true, pasidWidth: 20, ats: true, pri: true });
  });

  it('finds moved tables through OFFSETS and configures a larger device', () => {
    const { dev, host } = hostRig({ wqs: 48, groups: 20, engines: 8, totalWqSize: 256 });
    const info = host.probe();
    expect(info.offsets.grpcfg).toBe(dev.layout.grpcfg);
    expect(info.offsets.grpcfg).not.toBe(0x400);
    expect(info.offsets.wqcfg).toBe(dev.layout.wqcfg);
    expect(info.msix.tableOffset).toBe(dev.layout.msixTable);
    host.load({ groups: [{ id: 19, engines: [7] }], wqs: [{ id: 47, group: 19, mode: 'dedicated', size: 8 }] });
    expect(host.wq(47).enabled).toBe(true);
  });

  it('refuses a halted device with ENXIO', () => {
    const { dev, host } = hostRig();
    host.probe();
    host.load(TWO_GROUPS);
    dev.pci.config.write(4, 2, 2);
    expect(dev.state).toBe(DeviceState.HALT);
    expect(() => new IdxdHost(dev).probe()).toThrow(/ENXIO: the device is halted/);
  });

  it('answers EPERM for anything that needs the probe first', () => {
    const { host } = hostRig();
    expect(() => host.info).toThrow(HostError);
    expect(() => host.configure(TWO_GROUPS)).toThrow(/EPERM/);
  });
});
