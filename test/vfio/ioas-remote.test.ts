/**
 * Remote DMA mappings of an IOAS (vfio-user DMA_MAP without a file descriptor): `mapRemote` with the
 * checks and errnos of `map`, coexisting with ordinary mappings; `unmapAsync` with the checks and the
 * immediate effect of `unmap`, resolving only when no DMA to the range is in flight (vfio-uapi.md §11.8).
 */
import { describe, expect, it } from 'vitest';
import { DmaRun, DmaSession, DmaTransaction, GuestMemory } from '../../src/memory/index.js';
import {
  VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, VFIO_DMA_UNMAP_FLAG_ALL, VfioIoas, type RemoteDmaMapRequest,
} from '../../src/vfio/index.js';
import { FakePort } from '../util/fake-port.js';

const R = VFIO_DMA_MAP_FLAG_READ;
const W = VFIO_DMA_MAP_FLAG_WRITE;
const RW = R | W;

function fixture(maxMappings?: number) {
  const mem = new GuestMemory(0x10000);
  const peer = new Uint8Array(0x400000);
  const port = new FakePort(peer);
  const ioas = new VfioIoas(maxMappings === undefined ? {} : { maxMappings });
  ioas.map({ iova: 0x100000, size: 0x2000, memory: mem, offset: 0x4000, flags: RW });
  ioas.mapRemote({ iova: 0x200000, size: 0x4000, flags: RW, port });
  const session = new DmaSession(() => new DmaTransaction());
  const run = new DmaRun();
  run.session = session;
  return { mem, peer, port, ioas, session, run };
}

const state = (ioas: VfioIoas): unknown => ({ mappings: ioas.listMappings(), extents: ioas.space.extents() });
const settled = async (p: Promise<unknown>): Promise<boolean> => {
  let done = false;
  void p.then(() => (done = true));
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return done;
};

describe('VfioIoas.mapRemote', () => {
  it('lists the mapping with its port, next to ordinary mappings, and the space reaches it through a session', () => {
    const { port, ioas, run, session } = fixture();
    expect(ioas.listMappings().map((m) => [m.iova, m.size, m.memory === null, m.port === port])).toEqual([
      [0x100000, 0x2000, false, false],
      [0x200000, 0x4000, true, true],
    ]);
    expect(ioas.space.extents()[1]).toMatchObject({ iova: 0x200000, size: 0x4000, memory: null });
    expect(ioas.space.isMapped(0x200000, 0x4000)).toBe(true);
    expect(ioas.space.translate(0x201000, 8, false, new DmaRun())).toBe(0);
    expect(ioas.space.translate(0x201000, 8, false, run)).toBe(0);
    expect([session.pending, port.calls]).toEqual([true, [{ kind: 'read', iova: 0x201000, length: 0x1000 }]]);
  });

  it('gives the device exactly the access the flags name', () => {
    const { ioas, port, run, session } = fixture();
    ioas.mapRemote({ iova: 0x300000, size: 0x1000, flags: R, port });
    expect(ioas.space.translate(0x300000, 4, true, run)).toBe(0);
    expect(session.pending).toBe(false);
  });

  describe('rejections in the order of map, nothing changed', () => {
    const cases: [string, Partial<RemoteDmaMapRequest>, string][] = [
      ['an unknown flag bit', { flags: RW | (1 << 3) }, 'EINVAL'],
      ['neither READ nor WRITE', { flags: 0 }, 'EINVAL'],
      ['size 0', { size: 0 }, 'EINVAL'],
      ['an unaligned iova', { iova: 0x500800 }, 'EINVAL'],
      ['an unaligned size', { size: 0x1800 }, 'EINVAL'],
      ['a negative iova', { iova: -0x1000 }, 'EINVAL'],
      ['a range ending beyond 2^53', { iova: 2 ** 53 - 0x1000, size: 0x2000 }, 'EINVAL'],
      ['a port without read and write', { port: { read: () => {} } as unknown as RemoteDmaMapRequest['port'] }, 'EINVAL'],
      ['no port at all', { port: null as unknown as RemoteDmaMapRequest['port'] }, 'EINVAL'],
      ['a range overlapping an ordinary mapping', { iova: 0x101000, size: 0x2000 }, 'EEXIST'],
      ['a range overlapping a remote mapping', { iova: 0x1ff000, size: 0x2000 }, 'EEXIST'],
      ['an unaligned range that also overlaps (alignment first)', { iova: 0x200800 }, 'EINVAL'],
    ];
    for (const [name, change, errno] of cases) {
      it(`${name} → ${errno}`, () => {
        const { ioas, port } = fixture();
        const before = state(ioas);
        expect(() => ioas.mapRemote({ iova: 0x500000, size: 0x1000, flags: RW, port, ...change })).toThrow(expect.objectContaining({ code: errno }));
        expect(state(ioas)).toEqual(before);
      });
    }

    it('counts against the mapping limit with ordinary mappings (ENOSPC), after the overlap check', () => {
      const { ioas, port } = fixture(2);
      expect(() => ioas.mapRemote({ iova: 0x200000, size: 0x1000, flags: RW, port })).toThrow(expect.objectContaining({ code: 'EEXIST' }));
      expect(() => ioas.mapRemote({ iova: 0x500000, size: 0x1000, flags: RW, port })).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
      expect(() => ioas.map({ iova: 0x600000, size: 0x1000, memory: new GuestMemory(0x1000), offset: 0, flags: RW })).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
      expect(ioas.count).toBe(2);
    });
  });
});

describe('VfioIoas.unmapAsync', () => {
  it('resolves at once for ordinary mappings, with the bytes unmapped', async () => {
    const { ioas } = fixture();
    await expect(ioas.unmapAsync({ iova: 0x100000, size: 0x2000, flags: 0 })).resolves.toBe(0x2000);
    expect(ioas.count).toBe(1);
  });

  it('throws at once what unmap throws, and changes nothing', () => {
    const { ioas } = fixture();
    const before = state(ioas);
    expect(() => ioas.unmapAsync({ iova: 0x201000, size: 0x1000, flags: 0 })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => ioas.unmapAsync({ iova: 0x200000, size: 0x800, flags: 0 })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(state(ioas)).toEqual(before);
  });

  it('unmaps at once (new translations fault) but resolves only after the fetch under way is answered', async () => {
    const { ioas, port, run, session } = fixture();
    expect(ioas.space.translate(0x200000, 8, false, run)).toBe(0);
    const tx = session.tx as DmaTransaction;
    const p = ioas.unmapAsync({ iova: 0x200000, size: 0x4000, flags: 0 });
    session.pending = false;
    expect([ioas.count, ioas.space.isMapped(0x200000, 1), tx.outstanding]).toEqual([1, false, 0]);
    expect(ioas.space.translate(0x200000, 8, false, run)).toBe(0);
    expect(session.pending).toBe(false);
    expect(await settled(p)).toBe(false);
    port.answerReads();
    expect(await settled(p)).toBe(true);
    await expect(p).resolves.toBe(0x4000);
  });

  it('resolves only after every write-back to the range is acknowledged', async () => {
    const { ioas, port, run, session } = fixture();
    expect(ioas.space.translate(0x200000, 8, true, run)).toBe(0);
    session.pending = false;
    port.answerReads();
    expect(ioas.space.translate(0x200000, 8, true, run)).toBe(8);
    run.bytes.fill(1, run.offset, run.offset + 8);
    expect((session.tx as DmaTransaction).commit()).toBe(false);
    const p = ioas.unmapAsync({ iova: 0, size: 0, flags: VFIO_DMA_UNMAP_FLAG_ALL });
    expect(ioas.count).toBe(0);
    expect(await settled(p)).toBe(false);
    port.answerWrites();
    await expect(p).resolves.toBe(0x6000);
  });

  it('a plain unmap of a remote mapping does not wait', () => {
    const { ioas, run } = fixture();
    ioas.space.translate(0x200000, 8, false, run);
    expect(ioas.unmap({ iova: 0x200000, size: 0x4000, flags: 0 })).toBe(0x4000);
  });
});
