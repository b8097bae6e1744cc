/**
 * Completion interrupts: the handle names an MSI-X vector (MSI-X portals, checked against
 * MSIX_PERM) or an interrupt-handle entry (IMS portals, checked against the entry's PASID);
 * masked vectors and entries pend until unmasked; a failed check is status 0x19 without an interrupt.
 */
import { describe, expect, it } from 'vitest';
import { IMS_ENTRY, MSIX_PERM, Status } from '../../src/dsa/index.js';
import { noop, rig } from './device-fixtures.js';

/** WQ 0 dedicated without PASID, WQ 1 dedicated with PASID 2, WQ 2 shared. */
const up = () =>
  rig().pciUp().errorsOn().group(0, [0, 1, 2], [0]).dwq(0, 8).dwq(1, 8, { pasidEn: 1, pasid: 2, priv: 1 }).swq(2, 8).up([0, 1, 2]);

describe('MSI-X completion interrupts', () => {
  it('a descriptor\'s handle selects the vector, raised after its completion record', () => {
    const r = up();
    let statusAtInterrupt = -1;
    r.dev.setMsixDelivery((v) => {
      statusAtInterrupt = r.status(0x8000);
      r.vectors.push(v);
      return true;
    });
    r.dev.portal(0).movdir64b(noop(0x8000, { handle: 7 }));
    r.dev.runUntilIdle();
    expect([r.vectors, statusAtInterrupt]).toEqual([[7], Status.SUCCESS]);
  });

  it('a vector whose MSIX_PERM PASID enable differs from the WQ\'s fails with 0x19 in the record and SWERR', () => {
    const r = up();
    r.dev.portal(1).movdir64b(noop(0x8000, { handle: 3 }));
    r.dev.runUntilIdle();
    expect([r.status(0x8000), r.swerrField('error'), r.swerrField('errorInfo')]).toEqual([Status.INT_HANDLE_INVAL, Status.INT_HANDLE_INVAL, 3]);
    expect(r.vectors).toEqual([0]);
  });

  it('MSIX_PERM bound to the WQ\'s PASID lets the interrupt through; another PASID does not', () => {
    const r = up();
    r.write(MSIX_PERM, 3, { pasidEn: 1, pasid: 2 });
    r.write(MSIX_PERM, 4, { pasidEn: 1, pasid: 1 });
    r.dev.portal(1).movdir64b(noop(0x8000, { handle: 3 }));
    r.dev.portal(1).movdir64b(noop(0x8020, { handle: 4 }));
    r.dev.runUntilIdle();
    expect([r.status(0x8000), r.status(0x8020)]).toEqual([Status.SUCCESS, Status.INT_HANDLE_INVAL]);
    expect(r.vectors).toEqual([3, 0]);
  });

  it('a handle beyond the MSI-X table is 0x19', () => {
    const r = up();
    r.dev.portal(0).movdir64b(noop(0x8000, { handle: 9 }));
    r.dev.runUntilIdle();
    expect(r.status(0x8000)).toBe(Status.INT_HANDLE_INVAL);
  });

  it('MSIX_PERM ignore drops the interrupt without a pending bit', () => {
    const r = up();
    r.write(MSIX_PERM, 2, { ignore: 1 });
    r.dev.portal(0).movdir64b(noop(0x8000, { handle: 2 }));
    r.dev.runUntilIdle();
    expect([r.status(0x8000), r.vectors, r.dev.msix.isPending(2)]).toEqual([Status.SUCCESS, [], false]);
  });

  it('a masked vector pends in the PBA and is delivered when unmasked', () => {
    const r = up();
    const ctl = r.dev.layout.msixTable + 16 * 5 + 12;
    r.w32(ctl, 1);
    r.dev.portal(0).movdir64b(noop(0x8000, { handle: 5 }));
    r.dev.runUntilIdle();
    expect([r.vectors, r.r32(r.dev.layout.msixPba)]).toEqual([[], 1 << 5]);
    r.w32(ctl, 0);
    expect([r.vectors, r.r32(r.dev.layout.msixPba)]).toEqual([[5], 0]);
  });
});

describe('interrupt-handle (IMS) completion interrupts', () => {
  it('an IMS-portal descriptor\'s handle selects the entry; the entry\'s PASID must match the descriptor\'s', () => {
    const r = up();
    r.write(IMS_ENTRY, 10, { mask: 0, pasidEn: 1, pasid: 1 });
    r.write(IMS_ENTRY, 11, { mask: 0, pasidEn: 1, pasid: 3 });
    const p = r.dev.portal(2, { ims: true });
    p.enqueue(noop(0x8000, { handle: 10 }), 0, 1, true);
    p.enqueue(noop(0x8020, { handle: 11 }), 0, 1, true);
    p.enqueue(noop(0x8040, { handle: 11 }), 0, 3, true);
    r.dev.runUntilIdle();
    expect([r.status(0x8000), r.status(0x8020), r.status(0x8040)]).toEqual([Status.SUCCESS, Status.INT_HANDLE_INVAL, Status.SUCCESS]);
    expect(r.ims).toEqual([10, 11]);
  });

  it('an entry without PASID enable serves a WQ without PASID only', () => {
    const r = up();
    r.write(IMS_ENTRY, 0, { mask: 0 });
    r.dev.portal(0, { ims: true }).movdir64b(noop(0x8000, { handle: 0 }));
    r.dev.portal(1, { ims: true }).movdir64b(noop(0x8020, { handle: 0 }));
    r.dev.runUntilIdle();
    expect([r.status(0x8000), r.status(0x8020), r.ims]).toEqual([Status.SUCCESS, Status.INT_HANDLE_INVAL, [0]]);
  });

  it('a masked entry sets its pending bit and is delivered once unmasked', () => {
    const r = up();
    r.write(IMS_ENTRY, 7, { mask: 1, pasidEn: 1, pasid: 2 });
    r.dev.portal(1, { ims: true }).movdir64b(noop(0x8000, { handle: 7 }));
    r.dev.runUntilIdle();
    expect([r.ims, r.field(IMS_ENTRY, 'pending', 7)]).toEqual([[], 1]);
    r.write(IMS_ENTRY, 7, { mask: 0, pasidEn: 1, pasid: 2 });
    expect([r.ims, r.field(IMS_ENTRY, 'pending', 7)]).toEqual([[7], 0]);
  });

  it('a handle beyond the table is 0x19, and the same handle on an MSI-X portal names a vector', () => {
    const r = up();
    r.dev.portal(0, { ims: true }).movdir64b(noop(0x8000, { handle: 2048 }));
    r.dev.portal(0).movdir64b(noop(0x8020, { handle: 1 }));
    r.dev.runUntilIdle();
    expect([r.status(0x8000), r.status(0x8020), r.vectors.filter((v) => v !== 0)]).toEqual([Status.INT_HANDLE_INVAL, Status.SUCCESS, [1]]);
  });
});
