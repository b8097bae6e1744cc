/**
 * What a destination refuses (vidxd-device.md §10.3): wrong magic, unknown version, truncated or
 * trailing bytes, a bad CRC, another vdev type, any field out of range, read-only config or register
 * bits that differ from what the saved facts imply, and facts this destination cannot honour (smaller
 * WQ, an operation missing, lower limits, no block on fault). Every refusal is EINVAL with the state
 * ERROR and the vdev exactly as a fresh one after a VFIO reset; nothing is half-applied. And what it
 * honours: the saved facts are presented, not its own — also after a reset — until the handle closes.
 */
import { describe, expect, it } from 'vitest';
import { Opcode } from '../../src/dsa/index.js';
import { VFIO_DEVICE_STATE_ERROR, VFIO_DEVICE_STATE_RUNNING, VfioError } from '../../src/vfio/index.js';
import { decodeStream, encodeRecord, MIG_HEADER_SIZE, resealRecords, type VdevImage } from '../../src/vidxd/migration-format.js';
import { BAR0, CONFIG, createVdev, DWQ, Guest, PARENT_CONFIG, parentRig, type ParentRig, SWQ } from './fixtures.js';
import { load, migrate, saveFinal, secondParent } from './migration-fixtures.js';

/** Everything of a vdev a refusal must leave as a fresh vdev has it. */
function stateOf(g: Guest): unknown {
  const cfg = new Uint8Array(4096);
  g.dev.readRegion(CONFIG, 0, cfg);
  const bar0 = new Uint8Array(0x800);
  for (let off = 0; off < 0x800; off += 4) g.dev.readRegion(BAR0, off, bar0.subarray(off, off + 4));
  return {
    cfg: Buffer.from(cfg).toString('hex'), bar0: Buffer.from(bar0).toString('hex'), handles: g.vdev.heldHandles(), queued: g.vdev.queued,
    state: g.vdev.state, wq: g.vdev.wqEnabled, facts: JSON.stringify(g.vdev.facts), stopped: g.vdev.migrationStopped,
  };
}

/** A source guest brought up with a handle, and its final stream. */
function sourceStream(type: string, rig: ParentRig = parentRig()): { src: Guest; bytes: Uint8Array } {
  const src = new Guest(rig, createVdev(rig, type).uuid).up();
  src.handle(1);
  src.w32(0x300 + 8, 0x7008);
  return { src, bytes: saveFinal(src.dev) };
}

/**
 * Loads `bytes` into a fresh vdev of `type` on a parent `make` builds: expects a refusal, then checks
 * the vdev against a fresh one on an identical parent.
 */
function refused(type: string, bytes: Uint8Array, why: RegExp, make: () => ParentRig = secondParent): void {
  const rig = make();
  const dst = new Guest(rig, createVdev(rig, type).uuid);
  const twin = make();
  const fresh = new Guest(twin, createVdev(twin, type).uuid);
  let err: unknown;
  try {
    load(dst.dev, bytes);
  } catch (e) {
    err = e;
  }
  expect(err instanceof VfioError ? err.code : err).toBe('EINVAL');
  expect((err as Error).message).toMatch(why);
  expect(dst.dev.migrationState()).toBe(VFIO_DEVICE_STATE_ERROR);
  dst.dev.reset();
  fresh.dev.reset();
  expect(dst.dev.migrationState()).toBe(VFIO_DEVICE_STATE_RUNNING);
  expect(stateOf(dst)).toEqual(stateOf(fresh));
  expect(dst.vdev.heldHandles().every((h) => h === null)).toBe(true);
  // And it works: a guest brings it up.
  dst.up();
}

/** The stream with its final image changed by `edit` (re-encoded: a well-formed record with a bad field). */
function edited(bytes: Uint8Array, edit: (i: VdevImage) => VdevImage): Uint8Array {
  return encodeRecord(edit(decodeStream(bytes)));
}

describe('migration: malformed streams are refused', () => {
  const { bytes } = sourceStream(DWQ);

  it('wrong magic, unknown version, unknown kind, bad CRC', () => {
    const magic = bytes.slice();
    magic[0] = 0x55;
    refused(DWQ, magic, /magic/);
    const version = bytes.slice();
    version[8] = 2;
    resealRecords(version);
    refused(DWQ, version, /version/);
    const kind = bytes.slice();
    kind[10] = 9;
    resealRecords(kind);
    refused(DWQ, kind, /kind/);
    const crc = bytes.slice();
    crc[40] = (crc[40] as number) ^ 0x10;
    refused(DWQ, crc, /CRC/);
  });

  it('truncated at any length, with trailing bytes, or empty', () => {
    for (const n of [0, 1, 7, MIG_HEADER_SIZE - 1, MIG_HEADER_SIZE, 40, bytes.length >> 1, bytes.length - 5, bytes.length - 1]) {
      refused(DWQ, bytes.subarray(0, n), n === 0 ? /empty/ : /truncated|magic/);
    }
    const trailing = new Uint8Array(bytes.length + 3);
    trailing.set(bytes);
    refused(DWQ, trailing, /trailing/);
  });

  it('another vdev type, in the header or in the facts', () => {
    refused(SWQ, bytes, /dedicated/);
    const shared = sourceStream(SWQ).bytes;
    refused(DWQ, shared, /shared/);
  });

  it('fields out of range', () => {
    const cases: [string, (i: VdevImage) => VdevImage, RegExp][] = [
      ['zero vectors', (i) => ({ ...i, facts: { ...i.facts, vectors: 0 } }), /vectors/],
      ['WQ size 0', (i) => ({ ...i, facts: { ...i.facts, wqSize: 0 } }), /WQ size/],
      ['priority 16', (i) => ({ ...i, facts: { ...i.facts, wqPriority: 16 } }), /priority/],
      ['device state 3 with the WQ on', (i) => ({ ...i, device: { ...i.device, state: 3 } }), /state/],
      ['a latched PASID of 21 bits', (i) => ({ ...i, device: { ...i.device, latchedPasid: 1 << 20 } }), /PASID/],
      ['wait kind 4', (i) => ({ ...i, device: { ...i.device, commandActive: true, waitKind: 4 } }), /CMDSTS|wait/],
      ['a handle on vector 0', (i) => ({ ...i, handles: [3, null] }), /vector 0/],
      ['a 17-bit handle', (i) => ({ ...i, handles: [null, 0x10000] }), /16-bit/],
      ['more handles than vectors', (i) => ({ ...i, handles: [null, null, null] }), /entries/],
      ['a queue longer than the WQ', (i) => ({ ...i, queue: Array.from({ length: i.facts.wqSize + 1 }, () => ({ page: 0, bytes: new Uint8Array(64) })) }), /queued/],
      ['a queue for a disabled WQ', (i) => ({ ...i, device: { ...i.device, wqOn: false, portalsOn: false }, regs: offWq(i), queue: [{ page: 0, bytes: new Uint8Array(64) }] }), /disabled/],
      ['occupancy in the registers', (i) => ({ ...i, regs: withDword(i.regs, 0x518 / 4, (v) => v | 3) }), /occupancy/],
      ['a PBA bit beyond the vectors', (i) => ({ ...i, capState: withByte(i.capState, i.capState.length - 8, 0x80) }), /never holds/],
      ['a reserved bit of the MSI-X table', (i) => ({ ...i, capState: withByte(i.capState, 13, 1) }), /never holds/],
    ];
    for (const [name, edit, why] of cases) {
      const b = edited(bytes, edit);
      expect(() => decodeStream(b), name).not.toThrow();
      refused(DWQ, b, why);
    }
  });

  it('a handle held by two vectors', () => {
    const three = (): ParentRig => parentRig({ parent: { vectors: 3 } });
    const { bytes: b3 } = sourceStream(DWQ, three());
    refused(DWQ, edited(b3, (i) => ({ ...i, handles: [null, 5, 5] })), /two vectors/, three);
  });

  it('read-only register and config bits that the saved facts do not give', () => {
    // GENCAP: the overlap-copy bit flipped in the register image only.
    refused(DWQ, edited(bytes, (i) => ({ ...i, regs: withDword(i.regs, 0x10 / 4, (v) => v ^ 2) })), /0x10/);
    // The reserved space between registers.
    refused(DWQ, edited(bytes, (i) => ({ ...i, regs: withDword(i.regs, 0x100 / 4, () => 1) })), /0x100/);
    // Config space: the vendor ID, and a capability pointer.
    refused(DWQ, edited(bytes, (i) => ({ ...i, config: withByte(i.config, 0, 0x87) })), /read-only/);
    refused(DWQ, edited(bytes, (i) => ({ ...i, config: withByte(i.config, 0x34, 0x44) })), /read-only/);
  });
});

describe('migration: a destination that cannot honour the saved facts refuses', () => {
  it('a smaller WQ', () => {
    const { bytes } = sourceStream(DWQ);
    const small = (): ParentRig => parentRig({ config: { ...PARENT_CONFIG, wqs: PARENT_CONFIG.wqs.map((w) => (w.id === 0 ? { ...w, size: 8 } : w)) } });
    refused(DWQ, bytes, /WQ size 16 saved, 8 here/, small);
  });

  it('an operation missing from OPCAP', () => {
    const { bytes } = sourceStream(DWQ);
    const op = Opcode.DIF_INS;
    const opcap = [0x003f03ff & ~(1 << op), 0x1, 0, 0, 0, 0, 0, 0];
    refused(DWQ, bytes, /operations missing/, () => parentRig({ profile: { opcap } }));
  });

  it('a lower max transfer size, a lower max batch size, no block on fault', () => {
    const { bytes } = sourceStream(DWQ);
    refused(DWQ, bytes, /max transfer|lower device max transfer/, () => parentRig({ profile: { maxTransferShift: 20 } }));
    refused(DWQ, bytes, /max batch|lower device max batch/, () => parentRig({ profile: { maxBatchShift: 5 } }));
    // The source's second dedicated WQ blocks on faults; a destination whose WQ does not cannot run it.
    const rig = parentRig();
    new Guest(rig, createVdev(rig, DWQ).uuid);
    const bof = sourceStream(DWQ, rig).bytes;
    expect(decodeStream(bof).facts.wqBlockOnFault).toBe(true);
    refused(DWQ, bof, /block on fault|blocks on faults|max transfer/);
  });
});

describe('migration: the destination presents the saved facts', () => {
  it('another device ID and more engines are presented as the source had them, across a VFIO reset and an FLR, until close', () => {
    const { src } = sourceStream(DWQ);
    const rig = parentRig({ profile: { deviceId: 0x11fb, revision: 3 } });
    const { uuid } = createVdev(rig, DWQ);
    const dst = new Guest(rig, uuid);
    expect(dst.cfg(0) >>> 16).toBe(0x11fb);
    const view = src.cfg(0);
    const gencap = src.r32(0x10);
    migrate(src.dev, dst.dev);
    expect(dst.cfg(0)).toBe(view);
    expect(dst.r32(0x10)).toBe(gencap);
    dst.dev.reset();
    expect(dst.cfg(0)).toBe(view);
    expect(dst.cfg(8) & 0xff).toBe(src.cfg(8) & 0xff);
    dst.setCfg(0x58, 0x8000, 2); // PCIe DevCtl: initiate FLR
    expect(dst.cfg(0)).toBe(view);
    // Closed and opened again (another VM): the vdev presents its own parent again.
    dst.dev.close();
    const again = rig.bus.open(uuid);
    const id = new Uint8Array(4);
    again.readRegion(CONFIG, 0, id);
    expect(new DataView(id.buffer).getUint32(0, true) >>> 16).toBe(0x11fb);
  });
});

function withDword(regs: Uint32Array, d: number, f: (v: number) => number): Uint32Array {
  const out = regs.slice();
  out[d] = f(out[d] as number) >>> 0;
  return out;
}

function withByte(b: Uint8Array, at: number, v: number): Uint8Array {
  const out = b.slice();
  out[at] = (out[at] as number) | v;
  return out;
}

/** The register image with the virtual WQ disabled (WQCFG.wq_state 0). */
function offWq(i: VdevImage): Uint32Array {
  return withDword(i.regs, 0x518 / 4, (v) => v & 0x3fffffff);
}
