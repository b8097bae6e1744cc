import { describe, expect, it } from 'vitest';
import { GuestMemory, Iommu, IoAddressSpace, NO_PASID, Perm } from '../../src/memory/index.js';

describe('Iommu', () => {
  it('keys address spaces by PASID, PASID 0 being the no-PASID space', () => {
    const iommu = new Iommu();
    const rid = iommu.create(NO_PASID);
    const a = iommu.create(7);
    expect(iommu.space(0)).toBe(rid);
    expect(iommu.space(7)).toBe(a);
    expect(iommu.pasids()).toEqual([0, 7]);
  });

  it('returns null for a PASID with no address space', () => {
    expect(new Iommu().space(3)).toBeNull();
  });

  it('attaches a custom space and detaches it', () => {
    const iommu = new Iommu();
    const s = new IoAddressSpace();
    iommu.attach(5, s);
    expect(iommu.space(5)).toBe(s);
    expect(iommu.detach(5)).toBe(true);
    expect(iommu.detach(5)).toBe(false);
    expect(iommu.space(5)).toBeNull();
  });

  it('rejects a PASID out of range or attached twice', () => {
    const iommu = new Iommu();
    expect(() => iommu.create(1 << 20)).toThrow(RangeError);
    expect(() => iommu.create(-1)).toThrow(RangeError);
    iommu.create(1);
    expect(() => iommu.create(1)).toThrow(/already/);
  });

  it('keeps the spaces of different PASIDs independent', () => {
    const mem = new GuestMemory(1 << 16);
    const iommu = new Iommu();
    iommu.create(1).map(0, 0x1000, mem, 0, Perm.RW);
    iommu.create(2);
    expect((iommu.space(1) as IoAddressSpace).isMapped(0, 1)).toBe(true);
    expect((iommu.space(2) as IoAddressSpace).isMapped(0, 1)).toBe(false);
  });
});
