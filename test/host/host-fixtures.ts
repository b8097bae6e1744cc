/** Fixtures of the host-driver tests: a DSA device model over identity-mapped memory and its host driver. */
import { DsaDevice, type DsaDeviceOptions, type DsaProfile, dsaProfile } from '../../src/dsa/index.js';
import { type DeviceConfig, IdxdHost, type IdxdHostOptions } from '../../src/host/index.js';
import { GuestMemory, type IoAddressSpace, Perm } from '../../src/memory/index.js';

/** Guest memory size. */
export const MEM = 1 << 20;

/** A device, its memory and its host driver. */
export interface HostRig {
  readonly dev: DsaDevice;
  readonly mem: GuestMemory;
  readonly host: IdxdHost;
  /** Address spaces of PASIDs 0–3. */
  readonly spaces: readonly IoAddressSpace[];
}

/**
 * A device (manual mode unless `options.mode` says otherwise) with PASIDs 0–3 identity-mapped, and
 * a host driver that steps the device while it polls a waiting command.
 */
export function hostRig(profile: Partial<DsaProfile> = {}, options: DsaDeviceOptions = {}, hostOptions: IdxdHostOptions = {}): HostRig {
  const dev = new DsaDevice({ ...options, profile: dsaProfile(profile) });
  const mem = new GuestMemory(MEM);
  const spaces = [0, 1, 2, 3].map((p) => {
    const s = dev.iommu.create(p);
    s.map(0, MEM, mem, 0, Perm.RW);
    return s;
  });
  const host = new IdxdHost(dev, { wait: () => dev.runUntilIdle(), ...hostOptions });
  return { dev, mem, host, spaces };
}

/** Two groups, four WQs: 0 dedicated and 1 shared in group 0 (engines 0, 1); 2 dedicated (PASID 2) and 3 shared (mediated) in group 1 (engine 2). */
export const TWO_GROUPS: DeviceConfig = {
  groups: [
    { id: 0, engines: [0, 1] },
    { id: 1, engines: [2] },
  ],
  wqs: [
    { id: 0, group: 0, mode: 'dedicated', size: 16, priority: 10 },
    { id: 1, group: 0, mode: 'shared', size: 32, threshold: 24, priority: 10 },
    { id: 2, group: 1, mode: 'dedicated', size: 16, pasid: 2, priv: true, mediated: true },
    { id: 3, group: 1, mode: 'shared', size: 32, mediated: true, name: 'swq-mdev' },
  ],
};
