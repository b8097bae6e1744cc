/** BAR2 as an MMIO region: the portal decode, all-ones reads, and what counts as a submission. */
import { describe, expect, it } from 'vitest';
import { PORTAL_PAGE, PORTAL_STRIDE, SubmitStatus } from '../../src/dsa/index.js';
import { noop, rig } from './device-fixtures.js';

const up = (profile = {}) => rig(profile).pciUp().group(0, [0, 3], [0]).dwq(0, 8).swq(3, 8, { wqThresh: 1 }).up([0, 3]);

describe('BAR2 portal region', () => {
  it('is 16 KiB per WQ rounded up to a power of two', () => {
    expect(rig().dev.bar2.size).toBe(128 * 1024);
    expect(rig({ wqs: 5, totalWqSize: 64 }).dev.bar2.size).toBe(128 * 1024);
    expect(rig({ wqs: 2, totalWqSize: 64 }).dev.bar2.size).toBe(32 * 1024);
  });

  it('decodes WQ = offset >> 14 and page = unlimited/limited × MSI-X/IMS', () => {
    const r = up();
    const at = (wq: number, page: number) => r.dev.bar2.portalAt(wq * PORTAL_STRIDE + page * PORTAL_PAGE + 0x7c0);
    expect([0, 1, 2, 3].map((pg) => [at(3, pg)?.wq, at(3, pg)?.limited, at(3, pg)?.ims])).toEqual([
      [3, false, false], [3, true, false], [3, false, true], [3, true, true],
    ]);
    expect(at(3, 1)).toBe(r.dev.portal(3, { limited: true }));
  });

  it('reads all ones everywhere', () => {
    const r = up();
    const buf = new Uint8Array(8);
    r.dev.bar2.read(0x40, buf);
    expect(Array.from(buf)).toEqual(new Array(8).fill(0xff));
    expect([r.dev.bar2.readValue(3, 1), r.dev.bar2.readValue(0, 4)]).toEqual([0xff, 0xffffffff]);
  });

  it('a 64-byte write at any 64-byte slot of a page is a MOVDIR64B; other writes are ignored', () => {
    const r = up();
    expect(r.dev.bar2.write(0xfc0, noop(0x8000))).toBe(SubmitStatus.ACCEPTED);
    expect(r.dev.bar2.write(0x20, noop(0x8000))).toBe(SubmitStatus.IGNORED);
    expect(r.dev.bar2.write(0x40, noop(0x8000).subarray(0, 32))).toBe(SubmitStatus.IGNORED);
    expect(r.dev.bar2.write(3 * PORTAL_STRIDE, noop(0x8000))).toBe(SubmitStatus.IGNORED);
    expect(r.dev.occupancy(0)).toBe(1);
  });

  it('a 64-byte enqueue reaches a shared WQ with the given PASID, limited pages enforcing the threshold', () => {
    const r = up();
    const lim = 3 * PORTAL_STRIDE + PORTAL_PAGE;
    expect(r.dev.bar2.enqueue(lim, noop(0x8000), 2, false)).toBe(SubmitStatus.ACCEPTED);
    expect(r.dev.bar2.enqueue(lim, noop(0x8000), 2, false)).toBe(SubmitStatus.RETRY);
    expect(r.dev.bar2.enqueue(lim - PORTAL_PAGE, noop(0x8000), 2, false)).toBe(SubmitStatus.ACCEPTED);
    expect(r.dev.occupancy(3, 2)).toBe(2);
  });

  it('WQs beyond the WQ count ignore writes and retry enqueues', () => {
    const r = up({ wqs: 5, totalWqSize: 64 });
    expect(r.dev.bar2.portalAt(6 * PORTAL_STRIDE)).toBeNull();
    expect(r.dev.bar2.write(6 * PORTAL_STRIDE, noop(0x8000))).toBe(SubmitStatus.IGNORED);
    expect(r.dev.bar2.enqueue(6 * PORTAL_STRIDE, noop(0x8000), 1, false)).toBe(SubmitStatus.RETRY);
  });

  it('IMS pages of a device without an IMS table behave as a disabled WQ', () => {
    const r = up({ imsMultiplier: 0 });
    expect(r.dev.portal(0, { ims: true }).movdir64b(noop(0x8000))).toBe(SubmitStatus.IGNORED);
    expect(r.dev.portal(3, { ims: true }).enqcmd(noop(0x8000), 0, 1)).toBe(SubmitStatus.RETRY);
    expect(r.dev.portal(0).movdir64b(noop(0x8000))).toBe(SubmitStatus.ACCEPTED);
  });

  it('nothing is decoded while the PCI command register has memory decode off', () => {
    const r = up();
    r.dev.pci.config.write(4, 2, 4);
    expect(r.dev.bar2.write(0, noop(0x8000))).toBe(SubmitStatus.IGNORED);
    expect(r.dev.bar0.read32(0)).toBe(0xffffffff);
  });
});
