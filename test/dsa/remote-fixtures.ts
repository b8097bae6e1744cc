/**
 * Fixtures of the tests over memory reached only by messages: a device rig whose PASID spaces are
 * remote — the rig's guest memory stands for the peer's memory, reached only through a `FakePort` the
 * test answers — and a driver that answers the port until the device has nothing in flight.
 */
import type { DsaDevice } from '../../src/dsa/index.js';
import { type GuestMemory, IoAddressSpace, Perm, RemoteRegion } from '../../src/memory/index.js';
import { FakePort } from '../util/fake-port.js';
import { MEM_SIZE, type Rig } from './device-fixtures.js';

/** A remote PASID space: the port, the space and its region. */
export interface RemotePasid {
  readonly port: FakePort;
  readonly space: IoAddressSpace;
  readonly region: RemoteRegion;
}

/**
 * Makes `pasid`'s space on `r` remote: `[0, MEM_SIZE)` reached through a fake port over `r.mem`, except
 * `[local.from, local.to)`, which stays ordinary memory (a mixed space).
 */
export function remotePasid(r: Rig, pasid: number, local?: { from: number; to: number }, memory: GuestMemory = r.mem): RemotePasid {
  const port = new FakePort(memory.bytes);
  const space = new IoAddressSpace();
  let region: RemoteRegion;
  if (local === undefined) {
    region = new RemoteRegion(port, 0, MEM_SIZE, Perm.RW);
    space.mapRemote(region);
  } else {
    region = new RemoteRegion(port, 0, local.from, Perm.RW);
    space.mapRemote(region);
    space.map(local.from, local.to - local.from, memory, local.from, Perm.RW);
    if (local.to < MEM_SIZE) space.mapRemote(new RemoteRegion(port, local.to, MEM_SIZE - local.to, Perm.RW));
  }
  r.dev.iommu.detach(pasid);
  r.dev.iommu.attach(pasid, space);
  return { port, space, region };
}

/** Answers `port` and steps `dev` until neither has anything left; returns the port rounds taken. */
export function drive(dev: DsaDevice, ...ports: FakePort[]): number {
  let rounds = 0;
  for (;;) {
    dev.runUntilIdle();
    let pending = false;
    for (const p of ports) {
      if (p.reads.length > 0 || p.writes.length > 0) {
        pending = true;
        p.answerReads();
        p.answerWrites();
      }
    }
    if (!pending && dev.idle) return rounds;
    rounds++;
    if (rounds > 10_000) throw new Error('remote drive did not settle');
  }
}
