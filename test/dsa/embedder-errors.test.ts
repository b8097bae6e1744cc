/**
 * Embedder code that throws is contained where the library calls it (docs/errors.md §6): an MSI-X
 * receiver, a page-request service (= a refused page request), a readback hook, a progress listener,
 * the automatic mode's scheduler, a VFIO interrupt trigger, a REQ trigger. Nothing escapes from
 * `step()`, a portal write, a register or config write, or `remove`; the device stays consistent
 * (CMDSTS completes, the scheduler runs again, the WQ entry is freed); every error reaches the one
 * hook (`setEmbedderErrorHook`) with where it happened, and the default writes the first to
 * `console.error` once and keeps the last.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  clearLastEmbedderError, Command, DsaDevice, dsaProfile, type EmbedderCallSite, Flag, lastEmbedderError, setEmbedderErrorHook, SubmitStatus,
} from '../../src/dsa/index.js';
import { VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_DATA_EVENTFD, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_REQ_IRQ_INDEX } from '../../src/vfio/index.js';
import { errnoOf } from '../util/errno.js';
import { createVdev, DWQ, Guest, parentRig } from '../vidxd/fixtures.js';
import { memmove, noop, Rig, rig } from './device-fixtures.js';

let reported: [string, EmbedderCallSite][] = [];

beforeEach(() => {
  reported = [];
  setEmbedderErrorHook((e, where) => reported.push([(e as Error).message, where]));
});
afterEach(() => {
  setEmbedderErrorHook(null);
  clearLastEmbedderError();
});

const boom = (what: string) => (): never => {
  throw new Error(what);
};

/** A dedicated WQ 0 of 8 on engine 0, everything enabled. */
function up(r: Rig, bof = false): Rig {
  return r.pciUp().group(0, [0], [0]).dwq(0, 8, bof ? { bof: 1 } : {}).up([0]);
}

describe('the DSA model contains embedder callbacks that throw', () => {
  it('an MSI-X receiver that throws: step() returns, a waiting DRAIN completes, CMDSTS is not stuck active', () => {
    const r = up(rig());
    r.dev.setMsixDelivery(boom('vmm interrupt controller'));
    r.dev.portal(0).movdir64b(noop(0x1000, { handle: 1 }));
    expect(r.cmd(Command.DRAIN_ALL) >>> 31).toBe(1); // waits for the NOOP
    expect(() => r.dev.runUntilIdle()).not.toThrow();
    expect(r.status(0x1000)).toBe(1);
    expect(r.dev.commandActive).toBe(false);
    expect(r.cmd(Command.DRAIN_ALL)).toBe(0);
    expect(r.dev.occupancy(0)).toBe(0);
    expect(reported).toEqual([['vmm interrupt controller', 'msix-delivery']]);
  });

  it('a page-request service that throws is a refused page request (0x04), and the WQ entry is freed', () => {
    const r = up(rig(), true);
    r.space(0).unmap(0x21000, 0x1000);
    r.dev.pageRequests = boom('page service');
    r.dev.portal(0).movdir64b(memmove(0x10000, 0x20000, 0x2000, { cr: 0x40000, flags: Flag.CRAV | Flag.RCR | Flag.BOF }));
    expect(() => r.dev.runUntilIdle()).not.toThrow();
    expect(r.status(0x40000)).toBe(0x84); // write fault, page request refused
    expect(r.dev.occupancy(0)).toBe(0);
    expect(reported).toEqual([['page service', 'page-request']]);
    expect(r.dev.portal(0).movdir64b(noop(0x40020))).toBe(SubmitStatus.ACCEPTED);
    r.dev.runUntilIdle();
    expect(r.status(0x40020)).toBe(1);
  });

  it('a progress listener that throws: every descriptor still runs', () => {
    const r = up(rig());
    r.dev.onProgress(boom('listener'));
    r.dev.portal(0).movdir64b(noop(0x1000));
    r.dev.portal(0).movdir64b(noop(0x1020));
    expect(r.dev.runUntilIdle()).toBe(2);
    expect([r.status(0x1000), r.status(0x1020)]).toEqual([1, 1]);
    expect(reported).toEqual([['listener', 'progress-listener'], ['listener', 'progress-listener']]);
  });

  it('an automatic-mode scheduler that throws: the portal write returns, and the next submission schedules a run', () => {
    let calls = 0;
    const r = new Rig({
      profile: dsaProfile(),
      mode: 'automatic',
      schedule: (run) => {
        calls++;
        if (calls === 1) throw new Error('scheduler');
        run();
      },
    });
    up(r);
    let first: unknown;
    expect(() => (first = r.dev.portal(0).movdir64b(noop(0x1000)))).not.toThrow();
    expect(first).toBe(SubmitStatus.ACCEPTED);
    expect(r.status(0x1000)).toBe(0); // not run: nothing was scheduled
    expect(r.dev.portal(0).movdir64b(noop(0x1020))).toBe(SubmitStatus.ACCEPTED);
    expect([r.status(0x1000), r.status(0x1020)]).toEqual([1, 1]);
    expect(calls).toBe(2);
    expect(reported).toEqual([['scheduler', 'scheduler']]);
  });

  it('by default, the first contained error goes to console.error once and the last one is kept', () => {
    setEmbedderErrorHook(null);
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const r = up(rig());
      r.dev.onProgress(boom('quiet'));
      r.dev.portal(0).movdir64b(noop(0x1000));
      r.dev.portal(0).movdir64b(noop(0x1020));
      r.dev.runUntilIdle();
      expect(spy.mock.calls.length).toBeLessThanOrEqual(1);
      expect(lastEmbedderError()).toMatchObject({ where: 'progress-listener', error: { message: 'quiet' } });
    } finally {
      spy.mockRestore();
    }
    expect(new DsaDevice().state).toBe(0);
  });
});

describe('a vdev contains the VMM\'s triggers that throw', () => {
  it('a completion-interrupt trigger that throws: step() returns, the record is written, the next interrupt is delivered', () => {
    const rig = parentRig();
    const g = new Guest(rig, createVdev(rig, DWQ).uuid).up();
    const h = g.handle(1);
    let fired = 0;
    g.dev.setIrqs({
      flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: VFIO_PCI_MSIX_IRQ_INDEX, start: 1, count: 1,
      data: [() => {
        fired++;
        throw new Error('eventfd write failed');
      }],
    });
    g.submit(noop(0x1000, { handle: h }));
    expect(() => rig.dev.runUntilIdle()).not.toThrow();
    expect(g.status(0x1000)).toBe(1);
    g.submit(noop(0x1020, { handle: h }));
    rig.dev.runUntilIdle();
    expect([g.status(0x1020), fired]).toEqual([1, 2]);
    expect(reported).toEqual([['eventfd write failed', 'interrupt-trigger'], ['eventfd write failed', 'interrupt-trigger']]);
  });

  it('a command-completion interrupt whose trigger throws: the guest\'s CMD write returns and CMDSTS is complete', () => {
    const rig = parentRig();
    const g = new Guest(rig, createVdev(rig, DWQ).uuid).up();
    g.dev.setIrqs({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: VFIO_PCI_MSIX_IRQ_INDEX, start: 0, count: 1, data: [boom('vector 0')] });
    let st = -1;
    expect(() => (st = g.cmd(Command.DRAIN_ALL, 0, true))).not.toThrow();
    expect(st).toBe(0);
    expect(reported).toEqual([['vector 0', 'interrupt-trigger']]);
  });

  it('a REQ trigger that throws: remove answers EBUSY as with any open device, and the error is reported', () => {
    const rig = parentRig();
    const { uuid } = createVdev(rig, DWQ);
    const g = new Guest(rig, uuid).up();
    g.dev.setIrqs({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: VFIO_PCI_REQ_IRQ_INDEX, start: 0, count: 1, data: [boom('req')] });
    expect(errnoOf(() => rig.bus.remove(uuid))).toBe('EBUSY');
    expect(reported).toEqual([['req', 'request-trigger']]);
    g.dev.close();
    expect(errnoOf(() => rig.bus.remove(uuid))).toBeUndefined();
  });
});
