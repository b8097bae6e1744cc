/**
 * The driver's error paths: command errors carry their CMDSTS names; software errors are read from
 * SWERR, logged, reported and acknowledged; a halt fails what is in flight until a reset; revoked
 * interrupt handles are requested again; descriptor errors, unresolved faults and bad arguments
 * reject with their reason and errno.
 */
import { describe, expect, it } from 'vitest';
import { Command, Desc, SoftwareErrorCode, Status } from '../../src/dsa/index.js';
import {
  decodeSwerr, IdxdCommandError, IdxdGuestError, IdxdStatusError, PASID_REJECTED, type SoftwareErrorReport,
} from '../../src/guest/index.js';
import { regionOffset } from '../../src/vfio/index.js';
import { VDEV_INTCAUSE, VdevErrorCode, type VdevHandles } from '../../src/vidxd/index.js';
import { desc } from '../dsa/device-fixtures.js';
import { parentRig } from '../vidxd/fixtures.js';
import { DWQ, openVm, SWQ } from './fixtures.js';
import { elem } from '../util/bytes.js';

/** The rejection of `p` (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => expect.fail('resolved'), (e: unknown) => e);
}

describe('commands', () => {
  it('carry the command, the CMDSTS code and its name from the CMDSTS table', async () => {
    const vm = await openVm(DWQ);
    const again = await rejection(vm.g.command(Command.ENABLE_WQ, 0));
    expect(again).toBeInstanceOf(IdxdCommandError);
    expect(again).toMatchObject({ reason: 'command', code: 'EIO', command: Command.ENABLE_WQ, cmdStatus: 0x21, codeName: 'ERR_WQ_ENABLED' });
    expect((again as Error).message).toMatch(/^ENABLE_WQ failed: CMDSTS 0x21 ERR_WQ_ENABLED \(/);
    expect(await rejection(vm.g.command(Command.ENABLE_WQ, 1))).toMatchObject({ cmdStatus: 0x02, codeName: 'INVAL_WQIDX' });
    expect(await rejection(vm.g.command(Command.REQUEST_INT_HANDLE, 0))).toMatchObject({ cmdStatus: 0x41, codeName: 'ERR_INVAL_INT_IDX' });
    expect(await vm.g.command(Command.DRAIN_ALL)).toBe(0);
  });

  it('drain() waits for the submitted descriptors, stepping the device through the poll hook', async () => {
    const vm = await openVm(SWQ);
    const buf = vm.g.heap.alloc(0x1000);
    const ops = [1n, 2n, 3n].map((p) => vm.g.fill(buf, 0x1000, p));
    await vm.g.drain();
    expect([vm.vdev.occupancy, vm.rig.dev.idle]).toEqual([0, true]);
    expect((await Promise.all(ops)).map((r) => r.status)).toEqual([1, 1, 1]);
  });

  it('abort() abandons the queued descriptors and their operations reject', async () => {
    const vm = await openVm(DWQ, { poll: undefined });
    const buf = vm.g.heap.alloc(64);
    const ops = [1n, 2n].map((p) => vm.g.fill(buf, 64, p).then(() => null, (e: unknown) => e));
    await vm.g.abort();
    expect(await Promise.all(ops)).toMatchObject([{ reason: 'lost' }, { reason: 'lost' }]);
    expect(vm.mem.bytes[buf]).toBe(0);
  });
});

describe('software errors', () => {
  it('are read from SWERR on vector 0, logged, passed to onError and acknowledged', async () => {
    const seen: SoftwareErrorReport[] = [];
    const vm = await openVm(DWQ, { onError: (r) => seen.push(r) });
    // A descriptor of the guest's own making, without a completion record and with a reserved flag.
    const portal = vm.device.mmap(regionOffset(2), 0x1000);
    portal.submit(desc(0x03, { 16: 0x1000, 24: 0x2000, 32: 64 }, { flags: 1 << 6 }), 0);
    vm.rig.dev.runUntilIdle();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ code: Status.INVALID_FLAGS, name: 'INVALID_FLAGS', opcode: 0x03, descValid: true, errorInfo: 1 << 6 });
    expect(vm.g.errors).toEqual(seen);
    const swerr = new Uint8Array(4);
    vm.device.readRegion(0, 0xc0, swerr);
    expect(elem(swerr, 0) & 3).toBe(0);
    expect(vm.g.stats.interrupts[0]).toBe(1);
  });

  it('carry a 64-bit address exactly, as two halves (a record address at 0xffffffff_ffffffe0)', async () => {
    const vm = await openVm(DWQ);
    const d = desc(0x00, {}, { cr: 0 });
    const v = new DataView(d.buffer);
    v.setUint32(Desc.CR_ADDR, 0xffffffe0, true);
    v.setUint32(Desc.CR_ADDR + 4, 0xffffffff, true);
    vm.device.mmap(regionOffset(2), 0x1000).submit(d, 0);
    vm.rig.dev.runUntilIdle();
    expect(vm.g.errors).toHaveLength(1);
    expect(vm.g.errors[0]).toMatchObject({ code: Status.CRA_XLAT, name: 'CRA_XLAT', addressLo: 0xffffffe0, addressHi: 0xffffffff });
    const dw = [0x1a01, 0, 0, 0, 0x89abcdef, 0x01234567, 0, 0];
    expect(decodeSwerr(dw)).toMatchObject({ addressLo: 0x89abcdef, addressHi: 0x01234567 });
  });

  it('name the vdev\'s own code for a guest PASID it rejected', async () => {
    expect(PASID_REJECTED).toBe(VdevErrorCode.PASID_REJECTED);
    const vm = await openVm(SWQ);
    const portal = vm.device.mmap(regionOffset(2) + 0x1000, 0x1000);
    portal.submit(desc(0x00, {}, { pasid: vm.g.pasid + 1, cr: 0x3000 }), 0);
    expect(vm.g.errors.map((e) => e.name)).toEqual(['PASID_REJECTED']);
  });
});

describe('halt', () => {
  it('fails the operations in flight and those that follow, until reset() brings the device back', async () => {
    let halt = false;
    const rig = parentRig();
    const vm = await openVm(DWQ, {
      rig,
      poll: () => {
        // The VMM's view of a guest that clears bus mastering while work is queued (vidxd-device.md §3.3).
        if (halt) {
          halt = false;
          const cmd = new Uint8Array(2);
          vm.device.writeRegion(7, 4, cmd);
        }
        return rig.dev.step();
      },
    });
    const buf = vm.g.heap.alloc(0x1000);
    halt = true;
    const results = await Promise.allSettled([vm.g.fill(buf, 0x1000, 1n), vm.g.fill(buf, 0x1000, 2n), vm.g.fill(buf, 0x1000, 3n)]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toMatchObject({ reason: 'halted', code: 'EIO' });
    }
    expect(vm.g.halted).toBe(true);
    expect(vm.g.errors.map((e) => e.code)).toContain(SoftwareErrorCode.PCI_CFG);
    expect(await rejection(vm.g.fill(buf, 64, 4n))).toMatchObject({ reason: 'halted' });
    await vm.g.reset();
    expect(vm.g.halted).toBe(false);
    await vm.g.fill(buf, 0x1000, 5n);
    expect(vm.mem.bytes[buf + 0xfff]).toBe(0);
    expect(vm.mem.bytes[buf]).toBe(5);
  });
});

describe('interrupt-handle revocation', () => {
  /** What a migration to another parent does: the vdev's handles are gone and INTCAUSE bit 31 raised on vector 0. */
  function revoke(vm: Awaited<ReturnType<typeof openVm>>): void {
    (Reflect.get(vm.vdev, 'handles') as VdevHandles).releaseAll();
    vm.vdev.interrupts.raiseCause(VDEV_INTCAUSE.fields.handlesRevoked);
  }

  it('requests the handles again before the next submission', async () => {
    const vm = await openVm(SWQ);
    const buf = vm.g.heap.alloc(64);
    await vm.g.fill(buf, 64, 1n);
    revoke(vm);
    expect(vm.vdev.heldHandles()[1]).toBeNull();
    await vm.g.fill(buf, 64, 2n);
    expect(vm.vdev.heldHandles()[1]).not.toBeNull();
    expect(vm.g.stats.ops.fill).toMatchObject({ interrupts: 2, statuses: { '0x01': 2 } });
    expect(vm.g.stats.missedInterrupts).toBe(0);
  });

  it('resubmits a descriptor that ran with a revoked handle (status 0x19: nothing done)', async () => {
    let revokeNow = false;
    const rig = parentRig();
    const vm = await openVm(DWQ, {
      rig,
      poll: () => {
        if (revokeNow) {
          revokeNow = false;
          revoke(vm);
        }
        return rig.dev.step();
      },
    });
    const buf = vm.g.heap.alloc(64);
    revokeNow = true;
    const r = await vm.g.fill(buf, 64, 3n);
    expect(r.submissions).toBe(2);
    expect(vm.g.stats.ops.fill?.statuses).toEqual({ '0x19': 1, '0x01': 1 });
    expect(vm.mem.bytes[buf]).toBe(3);
  });
});

describe('operation errors', () => {
  it('a descriptor error rejects with the status and its name', async () => {
    const vm = await openVm(DWQ);
    const e = await rejection(vm.g.dualcast(0x10000, 0x20010, 0x30000, 64));
    expect(e).toBeInstanceOf(IdxdStatusError);
    expect(e).toMatchObject({ reason: 'status', code: 'EIO', op: 'dualcast', status: Status.DCAST_ERR, statusName: 'DCAST_ERR' });
  });

  it('a fault nobody resolves rejects with EFAULT, the address and the bytes done', async () => {
    const vm = await openVm(DWQ, { holes: [0x80000], onPageFault: () => false });
    const e = await rejection(vm.g.memmove(0x80000 - 0x300, 0x40000, 0x1000));
    expect(e).toMatchObject({ reason: 'page-fault', code: 'EFAULT', status: 0x83, faultAddress: 0x80000, bytesCompleted: 0x300 });
    const none = await openVm(DWQ, { holes: [0x80000], onPageFault: undefined });
    expect(await rejection(none.g.crc32c(0x80000, 64))).toMatchObject({ reason: 'page-fault', status: 0x03, bytesCompleted: 0 });
  });

  it('a hook that claims to resolve a fault without mapping the page is given up after three rounds', async () => {
    let asked = 0;
    const vm = await openVm(SWQ, { holes: [0x80000], onPageFault: () => ++asked > 0 });
    expect(await rejection(vm.g.fill(0x80000, 64, 1n))).toMatchObject({ reason: 'page-fault' });
    expect(asked).toBe(3);
  });

  it('a descriptor the device drops without a trace (WQ disabled behind the driver) rejects as lost', async () => {
    const vm = await openVm(DWQ);
    const cmd = new Uint8Array(4);
    new DataView(cmd.buffer).setUint32(0, (Command.DISABLE_WQ << 20) | 1, true);
    vm.device.writeRegion(0, 0xa0, cmd);
    vm.rig.dev.runUntilIdle();
    expect(await rejection(vm.g.fill(0x10000, 64, 1n))).toMatchObject({ reason: 'lost', code: 'EIO' });
  });

  it('bad arguments reject with EINVAL before anything is submitted', async () => {
    const vm = await openVm(DWQ);
    const cases: Promise<unknown>[] = [
      vm.g.memmove(0x1000, 0x2000, 0),
      vm.g.fill(-1, 64, 0n),
      vm.g.fill(0x1000, 64, new Uint8Array(4)),
      vm.g.difInsert(0x1000, 0x2000, 512, { blockSize: 1000 as 512 }),
      vm.g.batch([]),
    ];
    for (const c of cases) {
      const e = await rejection(c);
      expect(e).toBeInstanceOf(IdxdGuestError);
      expect(e).toMatchObject({ reason: 'argument', code: 'EINVAL' });
    }
    expect(vm.g.stats.descriptors).toBe(0);
  });

  it('after close, operations reject with ESHUTDOWN', async () => {
    const vm = await openVm(SWQ);
    await vm.g.close();
    expect(vm.vdev.heldHandles().every((h) => h === null)).toBe(true);
    expect(await rejection(vm.g.fill(0x1000, 64, 1n))).toMatchObject({ reason: 'closed', code: 'ESHUTDOWN' });
  });
});
