/**
 * The byte format of a vdev's migration stream (vidxd-device.md §10.2): a sequence of records, each
 * versioned, self-describing and protected by a CRC-32C, the last one a *final* record. Encoding and
 * strict decoding only; what the decoded values must satisfy against the facts and the destination
 * is checked by `migration.ts`.
 *
 * Record (all integers little-endian):
 *
 * | Offset | Size | Field |
 * |---|---|---|
 * | 0 | 8 | magic `VIDXDMIG` |
 * | 8 | 2 | format version (1) |
 * | 10 | 1 | kind: 1 pre-copy image, 2 final image |
 * | 11 | 1 | vdev type: 1 `dsa-1dwq-v1`, 2 `dsa-1swq-v1` |
 * | 12 | 4 | record length in bytes, header and CRC included |
 * | 16 | … | sections: `tag u16, reserved u16 (0), length u32, payload`, each tag once, in ascending order |
 * | end − 4 | 4 | CRC-32C of every byte before it |
 *
 * Sections: 1 FACTS (what the guest was shown), 2 CONFIG (the 4 KiB config space as sparse runs),
 * 3 CAPSTATE (the capabilities' state outside config space: the MSI-X table and PBA), 4 REGS (the
 * BAR0 register values as sparse dword runs), 5 DEVICE (the vdev's state outside its registers), 6
 * HANDLES (the interrupt handle each vector holds), 7 TRAPPED (half-assembled trapped slots and the
 * queue of descriptors to replay; final records only). A pre-copy record has sections 1–6, a final
 * record all seven. Nothing in a record names a host resource: no host PASID, parent WQ or
 * interrupt-handle entry — handles appear only as the numbers the guest was given.
 */
import { crc32c } from '../dsa/index.js';
import type { VdevFacts, VdevMode } from './facts.js';

/** `VIDXDMIG`. */
export const MIG_MAGIC = Object.freeze([0x56, 0x49, 0x44, 0x58, 0x44, 0x4d, 0x49, 0x47]);
/** The format version written and accepted. */
export const MIG_FORMAT_VERSION = 1;
/** Record kinds. */
export const MigRecordKind = { PRECOPY: 1, FINAL: 2 } as const;
/** Type codes. */
export const MIG_TYPE_CODE: Readonly<Record<VdevMode, number>> = Object.freeze({ dedicated: 1, shared: 2 });
/** Section tags. */
export const MigSection = { FACTS: 1, CONFIG: 2, CAPSTATE: 3, REGS: 4, DEVICE: 5, HANDLES: 6, TRAPPED: 7 } as const;
/** Bytes of the record header. */
export const MIG_HEADER_SIZE = 16;
/** Bytes of a section header. */
export const MIG_SECTION_HEADER_SIZE = 8;
/** Longest record accepted. */
export const MIG_MAX_RECORD = 8 << 20;
/** Longest loading stream accepted (all records together). */
export const MIG_MAX_STREAM = 16 << 20;
/** Bytes of the FACTS payload. */
export const MIG_FACTS_SIZE = 84;
/** Bytes of the DEVICE payload. */
export const MIG_DEVICE_SIZE = 16;
/** "No handle" in the HANDLES section. */
export const MIG_NO_HANDLE = 0xffff_ffff;
/** Trapped slots of BAR2 (8 KiB of 64-byte slots). */
export const MIG_TRAPPED_SLOTS = 128;
/** A descriptor. */
const DESC = 64;

/** The vdev's state outside its registers (the DEVICE section). */
export interface VdevDeviceState {
  /** GENSTS.state. */
  readonly state: number;
  /** The virtual WQ is enabled. */
  readonly wqOn: boolean;
  /** The portals reach the backing WQ (they are off while a DISABLE_WQ waits). */
  readonly portalsOn: boolean;
  /** WQCFG.pasid_en latched by ENABLE_WQ. */
  readonly latchedPasidEnabled: boolean;
  /** WQCFG.pasid latched by ENABLE_WQ. */
  readonly latchedPasid: number;
  /** CMDSTS.active. */
  readonly commandActive: boolean;
  /** The active command asked for a completion interrupt. */
  readonly commandIntReq: boolean;
  /** What the active command waits for: 0 nothing, 1 drain, 2 disable-wq, 3 disable-device. */
  readonly waitKind: number;
  /**
   * Vector 0 was raised while the vdev was stopped (a cause recorded in INTCAUSE meanwhile, or handles
   * revoked by a migration): it is raised when the vdev runs.
   */
  readonly vector0Pending: boolean;
}

/** A half-assembled trapped slot. */
export interface TrappedSlot {
  /** Slot index in BAR2 (0..127). */
  readonly slot: number;
  /** Qwords received (bit k = qword k). */
  readonly mask: number;
  /** The slot's 64 bytes. */
  readonly bytes: Uint8Array;
}

/** A descriptor to replay when the vdev runs. */
export interface QueuedDescriptor {
  /** BAR2 page it was submitted to (0 unlimited, 1 limited portal). */
  readonly page: number;
  /** Its 64 bytes. */
  readonly bytes: Uint8Array;
}

/** One decoded record. */
export interface VdevImage {
  /** Pre-copy or final. */
  readonly kind: number;
  /** The vdev type. */
  readonly mode: VdevMode;
  /** What the guest was shown. */
  readonly facts: VdevFacts;
  /** The 4 KiB config-space image. */
  readonly config: Uint8Array;
  /** The capabilities' out-of-config state (MSI-X table and PBA). */
  readonly capState: Uint8Array;
  /** The BAR0 register values (dwords). */
  readonly regs: Uint32Array;
  /** The vdev's own state. */
  readonly device: VdevDeviceState;
  /** Handle held by each vector (null: none). */
  readonly handles: readonly (number | null)[];
  /** Half-assembled trapped slots (final records). */
  readonly slots: readonly TrappedSlot[];
  /** Descriptors to replay, in order (final records). */
  readonly queue: readonly QueuedDescriptor[];
}

/** A stream the decoder refuses; `message` says why. */
export class MigStreamError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = 'MigStreamError';
  }
}

const fail = (message: string): never => {
  throw new MigStreamError(message);
};

// ---------------------------------------------------------------- encoding

class Writer {
  private buf = new Uint8Array(4096);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.room(1);
    this.view.setUint8(this.length, v);
    this.length += 1;
  }

  u16(v: number): void {
    this.room(2);
    this.view.setUint16(this.length, v, true);
    this.length += 2;
  }

  u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.length, v >>> 0, true);
    this.length += 4;
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  patch32(at: number, v: number): void {
    this.view.setUint32(at, v >>> 0, true);
  }

  /** Starts a section; returns where its length goes. */
  section(tag: number): number {
    this.u16(tag);
    this.u16(0);
    const at = this.length;
    this.u32(0);
    return at;
  }

  end(at: number): void {
    this.patch32(at, this.length - at - 4);
  }

  done(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Runs of non-zero units of `units` (gaps of fewer than `merge` zero units are kept inside a run). */
function runs(units: ArrayLike<number>, merge: number): [number, number][] {
  const out: [number, number][] = [];
  let i = 0;
  while (i < units.length) {
    if (units[i] === 0) {
      i++;
      continue;
    }
    const start = i;
    let end = i + 1;
    let j = end;
    while (j < units.length && j - end < merge) {
      if (units[j] !== 0) end = j + 1;
      j++;
    }
    out.push([start, end - start]);
    i = end;
  }
  return out;
}

function encodeFacts(w: Writer, f: VdevFacts): void {
  w.u8(MIG_TYPE_CODE[f.mode]);
  w.u8(f.vectors);
  w.u16(f.deviceId);
  w.u8(f.revision);
  w.u8(f.wqBlockOnFault ? 1 : 0);
  w.u8(f.userInterrupts ? 1 : 0);
  w.u8(0);
  w.u32(f.version);
  w.u32(f.gencap[0]);
  w.u32(f.gencap[1]);
  for (let i = 0; i < 8; i++) w.u32(f.opcap[i] ?? 0);
  w.u32(f.wqSize);
  w.u32(f.wqThreshold);
  w.u32(f.wqPriority);
  w.u32(f.wqMaxTransferShift);
  w.u32(f.wqMaxBatchShift);
  w.u32(f.engines);
  w.u32(f.groupFlags[0]);
  w.u32(f.groupFlags[1]);
}

/** Encodes one record of `image` (TRAPPED only for a final record). */
export function encodeRecord(image: VdevImage): Uint8Array {
  const w = new Writer();
  for (const b of MIG_MAGIC) w.u8(b);
  w.u16(MIG_FORMAT_VERSION);
  w.u8(image.kind);
  w.u8(MIG_TYPE_CODE[image.mode]);
  w.u32(0);
  let at = w.section(MigSection.FACTS);
  encodeFacts(w, image.facts);
  w.end(at);

  at = w.section(MigSection.CONFIG);
  const cfgRuns = runs(image.config, 8);
  w.u16(cfgRuns.length);
  for (const [off, len] of cfgRuns) {
    w.u16(off);
    w.u16(len);
    w.bytes(image.config.subarray(off, off + len));
  }
  w.end(at);

  at = w.section(MigSection.CAPSTATE);
  w.bytes(image.capState);
  w.end(at);

  at = w.section(MigSection.REGS);
  const regRuns = runs(image.regs, 2);
  w.u16(regRuns.length);
  for (const [d, n] of regRuns) {
    w.u16(d);
    w.u16(n);
    for (let k = 0; k < n; k++) w.u32(image.regs[d + k] as number);
  }
  w.end(at);

  at = w.section(MigSection.DEVICE);
  const s = image.device;
  w.u8(s.state);
  w.u8(s.wqOn ? 1 : 0);
  w.u8(s.portalsOn ? 1 : 0);
  w.u8(s.latchedPasidEnabled ? 1 : 0);
  w.u32(s.latchedPasid);
  w.u8(s.commandActive ? 1 : 0);
  w.u8(s.commandIntReq ? 1 : 0);
  w.u8(s.waitKind);
  w.u8(s.vector0Pending ? 1 : 0);
  w.u32(0);
  w.end(at);

  at = w.section(MigSection.HANDLES);
  w.u8(image.handles.length);
  for (const h of image.handles) w.u32(h === null ? MIG_NO_HANDLE : h);
  w.end(at);

  if (image.kind === MigRecordKind.FINAL) {
    at = w.section(MigSection.TRAPPED);
    w.u8(image.slots.length);
    for (const t of image.slots) {
      w.u8(t.slot);
      w.u8(t.mask);
      w.bytes(t.bytes);
    }
    w.u16(image.queue.length);
    for (const q of image.queue) {
      w.u8(q.page);
      w.bytes(q.bytes);
    }
    w.end(at);
  }
  w.patch32(12, w.length + 4);
  const body = w.done();
  const out = new Uint8Array(body.length + 4);
  out.set(body);
  new DataView(out.buffer).setUint32(body.length, crc32c(body), true);
  return out;
}

/** Recomputes the CRC of every record of `stream` in place (for tests and the fuzzer, which alter fields). */
export function resealRecords(stream: Uint8Array): void {
  const v = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  let at = 0;
  while (at + MIG_HEADER_SIZE <= stream.length) {
    const len = v.getUint32(at + 12, true);
    if (len < MIG_HEADER_SIZE + 4 || at + len > stream.length) return;
    v.setUint32(at + len - 4, crc32c(stream.subarray(at, at + len - 4)), true);
    at += len;
  }
}

// ---------------------------------------------------------------- decoding

class Reader {
  at: number;
  private readonly view: DataView;

  constructor(
    private readonly b: Uint8Array,
    from: number,
    private readonly end: number,
    private readonly what: string,
  ) {
    this.at = from;
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  need(n: number): void {
    if (this.at + n > this.end) fail(`${this.what}: truncated (needs ${n} more bytes at ${this.at})`);
  }

  u8(): number {
    this.need(1);
    return this.view.getUint8(this.at++);
  }

  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.at, true);
    this.at += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.at, true);
    this.at += 4;
    return v;
  }

  bytes(n: number): Uint8Array {
    this.need(n);
    const out = this.b.slice(this.at, this.at + n);
    this.at += n;
    return out;
  }

  remaining(): number {
    return this.end - this.at;
  }

  flag(name: string): boolean {
    const v = this.u8();
    if (v > 1) fail(`${this.what}: ${name} is ${v}, not 0 or 1`);
    return v === 1;
  }

  finish(): void {
    if (this.at !== this.end) fail(`${this.what}: ${this.end - this.at} bytes left over`);
  }
}

const MODES: readonly (VdevMode | undefined)[] = [undefined, 'dedicated', 'shared'];

function decodeFacts(r: Reader): VdevFacts {
  const mode = MODES[r.u8()] ?? fail('FACTS: unknown vdev type');
  const vectors = r.u8();
  const deviceId = r.u16();
  const revision = r.u8();
  const bof = r.flag('block on fault');
  const userInterrupts = r.flag('user interrupts');
  if (r.u8() !== 0) fail('FACTS: reserved byte is not 0');
  const version = r.u32();
  const gencap: [number, number] = [r.u32(), r.u32()];
  const opcap: number[] = [];
  for (let i = 0; i < 8; i++) opcap.push(r.u32());
  const wqSize = r.u32();
  const wqThreshold = r.u32();
  const wqPriority = r.u32();
  const wqMaxTransferShift = r.u32();
  const wqMaxBatchShift = r.u32();
  const engines = r.u32();
  const groupFlags: [number, number] = [r.u32(), r.u32()];
  r.finish();
  return Object.freeze({
    mode, vectors, deviceId, revision, version, gencap: Object.freeze(gencap), opcap: Object.freeze(opcap), wqSize, wqThreshold, wqPriority,
    wqBlockOnFault: bof, wqMaxTransferShift, wqMaxBatchShift, engines, groupFlags: Object.freeze(groupFlags), userInterrupts,
  });
}

/** Sparse runs into a `size`-unit image: sorted, disjoint, non-empty, inside. */
function decodeRuns(r: Reader, size: number, unit: 1 | 4, what: string): Uint8Array {
  const out = new Uint8Array(size * unit);
  const n = r.u16();
  let next = 0;
  for (let i = 0; i < n; i++) {
    const off = r.u16();
    const len = r.u16();
    if (len === 0 || off < next || off + len > size) fail(`${what}: run ${i} [${off}, +${len}) is empty, out of order or outside ${size} units`);
    out.set(r.bytes(len * unit), off * unit);
    next = off + len;
  }
  r.finish();
  return out;
}

function decodeDevice(r: Reader): VdevDeviceState {
  const state = r.u8();
  const wqOn = r.flag('wq enabled');
  const portalsOn = r.flag('portals connected');
  const latchedPasidEnabled = r.flag('latched pasid_en');
  const latchedPasid = r.u32();
  const commandActive = r.flag('command active');
  const commandIntReq = r.flag('command interrupt request');
  const waitKind = r.u8();
  const vector0Pending = r.flag('vector 0 pending');
  if (r.u32() !== 0) fail('DEVICE: reserved dword is not 0');
  r.finish();
  return { state, wqOn, portalsOn, latchedPasidEnabled, latchedPasid, commandActive, commandIntReq, waitKind, vector0Pending };
}

function decodeHandles(r: Reader): (number | null)[] {
  const n = r.u8();
  const out: (number | null)[] = [];
  for (let i = 0; i < n; i++) {
    const h = r.u32();
    out.push(h === MIG_NO_HANDLE ? null : h);
  }
  r.finish();
  return out;
}

function decodeTrapped(r: Reader): { slots: TrappedSlot[]; queue: QueuedDescriptor[] } {
  const ns = r.u8();
  const slots: TrappedSlot[] = [];
  let next = 0;
  for (let i = 0; i < ns; i++) {
    const slot = r.u8();
    const mask = r.u8();
    if (slot < next || slot >= MIG_TRAPPED_SLOTS) fail(`TRAPPED: slot ${slot} is out of order or outside BAR2`);
    if (mask === 0 || mask === 0xff) fail(`TRAPPED: slot ${slot} has qword mask 0x${mask.toString(16)} (neither empty nor complete is half-assembled)`);
    slots.push({ slot, mask, bytes: r.bytes(DESC) });
    next = slot + 1;
  }
  const nq = r.u16();
  const queue: QueuedDescriptor[] = [];
  for (let i = 0; i < nq; i++) {
    const page = r.u8();
    if (page > 1) fail(`TRAPPED: queued descriptor ${i} names BAR2 page ${page}`);
    queue.push({ page, bytes: r.bytes(DESC) });
  }
  r.finish();
  return { slots, queue };
}

/** Decodes one record at `at` of `b`; returns it and where the next one starts. Throws {@link MigStreamError}. */
function decodeRecord(b: Uint8Array, at: number): { image: VdevImage; next: number } {
  if (b.length - at < MIG_HEADER_SIZE) fail(`record at ${at}: truncated header`);
  for (let i = 0; i < MIG_MAGIC.length; i++) if (b[at + i] !== MIG_MAGIC[i]) fail(`record at ${at}: wrong magic`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const version = v.getUint16(at + 8, true);
  if (version !== MIG_FORMAT_VERSION) fail(`record at ${at}: format version ${version} is not ${MIG_FORMAT_VERSION}`);
  const kind = v.getUint8(at + 10);
  if (kind !== MigRecordKind.PRECOPY && kind !== MigRecordKind.FINAL) fail(`record at ${at}: unknown kind ${kind}`);
  const mode = MODES[v.getUint8(at + 11)] ?? fail(`record at ${at}: unknown vdev type ${v.getUint8(at + 11)}`);
  const len = v.getUint32(at + 12, true);
  if (len < MIG_HEADER_SIZE + 4 || len > MIG_MAX_RECORD) fail(`record at ${at}: length ${len} is out of range`);
  if (at + len > b.length) fail(`record at ${at}: truncated (${len} bytes announced, ${b.length - at} present)`);
  const end = at + len - 4;
  if (v.getUint32(end, true) !== crc32c(b.subarray(at, end))) fail(`record at ${at}: CRC-32C mismatch`);
  const want = kind === MigRecordKind.FINAL ? 7 : 6;
  const r = new Reader(b, at + MIG_HEADER_SIZE, end, `record at ${at}`);
  const found: Record<number, Reader> = {};
  for (let tag = 1; tag <= want; tag++) {
    const t = r.u16();
    if (t !== tag) fail(`record at ${at}: section ${t} where section ${tag} belongs`);
    if (r.u16() !== 0) fail(`record at ${at}: section ${tag} reserved field is not 0`);
    const n = r.u32();
    r.need(n);
    found[tag] = new Reader(b, r.at, r.at + n, `section ${tag}`);
    r.at += n;
  }
  r.finish();
  const sec = (tag: number): Reader => found[tag] as Reader;
  const facts = decodeFacts(sec(MigSection.FACTS));
  if (facts.mode !== mode) fail(`record at ${at}: FACTS names another vdev type than the header`);
  const config = decodeRuns(sec(MigSection.CONFIG), 4096, 1, 'CONFIG');
  const capR = sec(MigSection.CAPSTATE);
  const capState = capR.bytes(capR.remaining());
  const regBytes = decodeRuns(sec(MigSection.REGS), 2048, 4, 'REGS');
  const regs = new Uint32Array(2048);
  const rv = new DataView(regBytes.buffer);
  for (let d = 0; d < 2048; d++) regs[d] = rv.getUint32(4 * d, true);
  const device = decodeDevice(sec(MigSection.DEVICE));
  const handles = decodeHandles(sec(MigSection.HANDLES));
  const trapped = kind === MigRecordKind.FINAL ? decodeTrapped(sec(MigSection.TRAPPED)) : { slots: [], queue: [] };
  return { image: { kind, mode, facts, config, capState, regs, device, handles, slots: trapped.slots, queue: trapped.queue }, next: at + len };
}

/**
 * Decodes a whole loading stream: one or more records, every one but the last a pre-copy record, the
 * last a final record, nothing after it, every record's FACTS identical. Returns the final record.
 * Throws {@link MigStreamError} naming the first problem.
 */
export function decodeStream(b: Uint8Array): VdevImage {
  if (b.length === 0) fail('empty stream');
  let at = 0;
  let first: Uint8Array | null = null;
  for (;;) {
    const { image, next } = decodeRecord(b, at);
    const facts = b.subarray(at + MIG_HEADER_SIZE + MIG_SECTION_HEADER_SIZE, at + MIG_HEADER_SIZE + MIG_SECTION_HEADER_SIZE + MIG_FACTS_SIZE);
    if (first === null) first = facts;
    else if (!sameBytes(first, facts)) fail(`record at ${at}: its FACTS differ from the first record's`);
    if (image.kind === MigRecordKind.FINAL) {
      if (next !== b.length) fail(`${b.length - next} trailing bytes after the final record`);
      return image;
    }
    if (next === b.length) fail('the stream ends without a final record');
    at = next;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
