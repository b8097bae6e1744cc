/**
 * Payload codecs of the vfio-user-specific messages (`vfio-uapi.md` §11.3–11.8): VERSION and its JSON
 * capabilities, DMA_MAP, DMA_UNMAP, REGION_READ/WRITE, REGION_WRITE_MULTI and DMA_READ/WRITE. The
 * VFIO structures the protocol shares with the ioctl form (device, region and IRQ info, SET_IRQS,
 * DEVICE_FEATURE) use `vidxd/vfio`'s codecs. Every decoder is strict: a payload whose length disagrees
 * with its own fields, or a u64 at or above 2^53, is EINVAL.
 */
import { getU64, setU64 } from '../vfio/index.js';
import { MAX_DATA_XFER_SIZE, MAX_MSG_FDS, protocolError } from './protocol.js';

const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** A peer's capabilities, from its VERSION JSON with the protocol defaults filled in (§11.4). */
export interface PeerCapabilities {
  /** fds the peer can receive in one message (default 1). */
  readonly maxMsgFds: number;
  /** Largest `count` of a REGION/DMA read or write the peer accepts (default 1 MiB). */
  readonly maxDataXferSize: number;
  /** Simultaneous DMA maps (default 65535). */
  readonly maxDmaMaps: number;
  /** OR of page sizes for DMA maps (default 4096). */
  readonly pgsizes: number;
  /** REGION_WRITE_MULTI accepted (default false). */
  readonly writeMultiple: boolean;
  /** The migration capability, when present. */
  readonly migration: { readonly pgsize?: number; readonly maxBitmapSize?: number } | null;
  /** twin_socket.supported (the library never uses it). */
  readonly twinSocket: boolean;
}

/** A decoded VERSION payload. */
export interface VersionMessage {
  /** Protocol major (must be 0). */
  readonly major: number;
  /** Protocol minor. */
  readonly minor: number;
  /** The capabilities (defaults where absent). */
  readonly caps: PeerCapabilities;
  /** True when the JSON named the key (to keep a reply's capabilities inside the proposal). */
  readonly proposed: ReadonlySet<string>;
}

/** The protocol defaults of §11.4. */
export const DEFAULT_CAPABILITIES: PeerCapabilities = Object.freeze({
  maxMsgFds: 1,
  maxDataXferSize: MAX_DATA_XFER_SIZE,
  maxDmaMaps: 65535,
  pgsizes: 4096,
  writeMultiple: false,
  migration: null,
  twinSocket: false,
});

/** Most fds a peer may claim to receive per message (libvfio-user's limit). */
const MAX_PEER_FDS = 1024;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isObject = (v: Json | undefined): v is { [k: string]: Json } => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: Json | undefined): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isPageSize = (v: Json | undefined): boolean => isCount(v) && v >= 4096 && v <= 2 ** 30 && (v & (v - 1)) === 0;

/**
 * Decodes a VERSION payload: `major u16, minor u16`, then optionally a NUL-terminated JSON object.
 * EINVAL (§11.4, malformed VERSION): payload shorter than 4 bytes, major ≠ 0, JSON not NUL-terminated
 * or unparsable or not an object, `capabilities` not an object, a capability of the wrong type,
 * `max_msg_fds` not a non-negative integer (at most 1024), `max_data_xfer_size` not a positive
 * integer, a migration `pgsize` that is not a page size.
 */
export function decodeVersion(payload: Uint8Array): VersionMessage {
  if (payload.length < 4) throw protocolError(`VERSION: payload of ${payload.length} bytes, at least 4 needed`);
  const v = view(payload);
  const major = v.getUint16(0, true);
  const minor = v.getUint16(2, true);
  if (major !== 0) throw protocolError(`VERSION: major ${major} is not supported (0 is)`);
  const proposed = new Set<string>();
  if (payload.length === 4) return { major, minor, caps: DEFAULT_CAPABILITIES, proposed };
  if (payload[payload.length - 1] !== 0) throw protocolError('VERSION: the JSON is not NUL-terminated');
  let top: Json;
  try {
    top = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload.subarray(4, payload.length - 1))) as Json;
  } catch {
    throw protocolError('VERSION: the JSON does not parse');
  }
  if (!isObject(top)) throw protocolError('VERSION: the JSON is not an object');
  const c = top.capabilities;
  if (c === undefined) return { major, minor, caps: DEFAULT_CAPABILITIES, proposed };
  if (!isObject(c)) throw protocolError('VERSION: "capabilities" is not an object');
  const bad = (key: string, what: string): never => {
    throw protocolError(`VERSION: capability "${key}" ${what}`);
  };
  const caps = { ...DEFAULT_CAPABILITIES } as { -readonly [K in keyof PeerCapabilities]: PeerCapabilities[K] };
  for (const key of Object.keys(c)) proposed.add(key);
  if (c.max_msg_fds !== undefined) {
    if (!isCount(c.max_msg_fds) || c.max_msg_fds > MAX_PEER_FDS) bad('max_msg_fds', `must be an integer in [0, ${MAX_PEER_FDS}]`);
    caps.maxMsgFds = c.max_msg_fds as number;
  }
  if (c.max_data_xfer_size !== undefined) {
    if (!isCount(c.max_data_xfer_size) || c.max_data_xfer_size === 0) bad('max_data_xfer_size', 'must be a positive integer');
    caps.maxDataXferSize = c.max_data_xfer_size as number;
  }
  if (c.max_dma_maps !== undefined) {
    if (!isCount(c.max_dma_maps)) bad('max_dma_maps', 'must be a non-negative integer');
    caps.maxDmaMaps = c.max_dma_maps as number;
  }
  if (c.pgsizes !== undefined) {
    if (!isCount(c.pgsizes) || c.pgsizes === 0) bad('pgsizes', 'must be a positive integer');
    caps.pgsizes = c.pgsizes as number;
  }
  if (c.write_multiple !== undefined) {
    if (typeof c.write_multiple !== 'boolean') bad('write_multiple', 'must be a boolean');
    caps.writeMultiple = c.write_multiple as boolean;
  }
  if (c.migration !== undefined) {
    const m = c.migration;
    if (!isObject(m)) return bad('migration', 'must be an object');
    if (m.pgsize !== undefined && !isPageSize(m.pgsize)) bad('migration.pgsize', 'must be a page size (a power of two of at least 4096)');
    if (m.max_bitmap_size !== undefined && !isCount(m.max_bitmap_size)) bad('migration.max_bitmap_size', 'must be a non-negative integer');
    caps.migration = {
      ...(m.pgsize !== undefined ? { pgsize: m.pgsize as number } : {}),
      ...(m.max_bitmap_size !== undefined ? { maxBitmapSize: m.max_bitmap_size as number } : {}),
    };
  }
  if (c.twin_socket !== undefined) {
    const t = c.twin_socket;
    if (!isObject(t)) return bad('twin_socket', 'must be an object');
    if (t.supported !== undefined && typeof t.supported !== 'boolean') bad('twin_socket.supported', 'must be a boolean');
    caps.twinSocket = t.supported === true;
  }
  return { major, minor, caps: Object.freeze(caps), proposed };
}

/** Encodes a VERSION payload: major, minor and, when given, `{"capabilities": caps}` NUL-terminated. */
export function encodeVersion(major: number, minor: number, capabilities: Readonly<Record<string, unknown>> | null): Uint8Array {
  const json = capabilities === null ? null : new TextEncoder().encode(JSON.stringify({ capabilities }));
  const out = new Uint8Array(4 + (json === null ? 0 : json.length + 1));
  const v = view(out);
  v.setUint16(0, major, true);
  v.setUint16(2, minor, true);
  if (json !== null) out.set(json, 4);
  return out;
}

/**
 * The capabilities the library's server answers with (§11.4): `max_msg_fds` 8, `max_data_xfer_size`
 * 1 MiB, `migration.pgsize` 4096 when the client proposed migration and the device offers it, and
 * `write_multiple: true` only when the client proposed it.
 */
export function serverCapabilities(client: VersionMessage, deviceMigrates: boolean): Record<string, unknown> {
  const caps: Record<string, unknown> = { max_msg_fds: MAX_MSG_FDS, max_data_xfer_size: MAX_DATA_XFER_SIZE };
  if (deviceMigrates && client.proposed.has('migration')) caps.migration = { pgsize: 4096 };
  if (client.caps.writeMultiple) caps.write_multiple = true;
  return caps;
}

/** DMA_MAP payload (32 bytes). */
export interface DmaMapMessage {
  /** Bytes of the structure (32). */
  readonly argsz: number;
  /** VFIO_USER_F_DMA_REGION_READ (1) | WRITE (2). */
  readonly flags: number;
  /** Offset of the range in the fd sent with the message (0 without one). */
  readonly offset: number;
  /** First IOVA. */
  readonly address: number;
  /** Length in bytes. */
  readonly size: number;
}

/** Size of a DMA_MAP payload. */
export const DMA_MAP_SIZE = 32;
/** Size of a DMA_UNMAP payload and of its reply. */
export const DMA_UNMAP_SIZE = 24;

/** Decodes DMA_MAP: exactly 32 bytes with argsz 32 (EINVAL otherwise). */
export function decodeDmaMapMessage(p: Uint8Array): DmaMapMessage {
  if (p.length !== DMA_MAP_SIZE) throw protocolError(`DMA_MAP: payload of ${p.length} bytes, ${DMA_MAP_SIZE} expected`);
  const v = view(p);
  const argsz = v.getUint32(0, true);
  if (argsz !== DMA_MAP_SIZE) throw protocolError(`DMA_MAP: argsz ${argsz} disagrees with the ${DMA_MAP_SIZE}-byte payload`);
  return { argsz, flags: v.getUint32(4, true), offset: getU64(v, 8, 'DMA_MAP offset'), address: getU64(v, 16, 'DMA_MAP address'), size: getU64(v, 24, 'DMA_MAP size') };
}

/** Encodes DMA_MAP. */
export function encodeDmaMapMessage(m: Omit<DmaMapMessage, 'argsz'>): Uint8Array {
  const out = new Uint8Array(DMA_MAP_SIZE);
  const v = view(out);
  v.setUint32(0, DMA_MAP_SIZE, true);
  v.setUint32(4, m.flags, true);
  setU64(v, 8, m.offset);
  setU64(v, 16, m.address);
  setU64(v, 24, m.size);
  return out;
}

/** DMA_UNMAP payload (24 bytes; the reply echoes it). */
export interface DmaUnmapMessage {
  /** Bytes of the structure (24). */
  readonly argsz: number;
  /** 0, or ALL (2) with address = size = 0. */
  readonly flags: number;
  /** First IOVA. */
  readonly address: number;
  /** Length in bytes. */
  readonly size: number;
}

/** Decodes DMA_UNMAP: exactly 24 bytes with argsz 24 (EINVAL otherwise). */
export function decodeDmaUnmapMessage(p: Uint8Array): DmaUnmapMessage {
  if (p.length !== DMA_UNMAP_SIZE) throw protocolError(`DMA_UNMAP: payload of ${p.length} bytes, ${DMA_UNMAP_SIZE} expected`);
  const v = view(p);
  const argsz = v.getUint32(0, true);
  if (argsz !== DMA_UNMAP_SIZE) throw protocolError(`DMA_UNMAP: argsz ${argsz} disagrees with the ${DMA_UNMAP_SIZE}-byte payload`);
  return { argsz, flags: v.getUint32(4, true), address: getU64(v, 8, 'DMA_UNMAP address'), size: getU64(v, 16, 'DMA_UNMAP size') };
}

/** Encodes DMA_UNMAP (request or reply). */
export function encodeDmaUnmapMessage(m: Omit<DmaUnmapMessage, 'argsz'>): Uint8Array {
  const out = new Uint8Array(DMA_UNMAP_SIZE);
  const v = view(out);
  v.setUint32(0, DMA_UNMAP_SIZE, true);
  v.setUint32(4, m.flags, true);
  setU64(v, 8, m.address);
  setU64(v, 16, m.size);
  return out;
}

/** Size of the REGION_READ/WRITE access header. */
export const REGION_ACCESS_SIZE = 16;

/** A REGION_READ/WRITE access header: `offset u64, region u32, count u32`. */
export interface RegionAccess {
  /** Region-relative offset. */
  readonly offset: number;
  /** Region index. */
  readonly region: number;
  /** Bytes. */
  readonly count: number;
}

/**
 * Decodes a REGION_READ (`withData` false: exactly 16 bytes) or REGION_WRITE (`withData` true:
 * 16 + count bytes) request, or the header of a REGION_READ reply (16 + count). EINVAL when the payload
 * length disagrees with `count`, or `count` exceeds 1 MiB.
 */
export function decodeRegionAccess(p: Uint8Array, withData: boolean, what: string): RegionAccess {
  if (p.length < REGION_ACCESS_SIZE) throw protocolError(`${what}: payload of ${p.length} bytes, at least ${REGION_ACCESS_SIZE} needed`);
  const v = view(p);
  const offset = getU64(v, 0, `${what} offset`);
  const region = v.getUint32(8, true);
  const count = v.getUint32(12, true);
  if (count > MAX_DATA_XFER_SIZE) throw protocolError(`${what}: count ${count} exceeds ${MAX_DATA_XFER_SIZE}`);
  const want = REGION_ACCESS_SIZE + (withData ? count : 0);
  if (p.length !== want) throw protocolError(`${what}: payload of ${p.length} bytes disagrees with count ${count} (${want} expected)`);
  return { offset, region, count };
}

/** Writes an access header at the start of `out`. */
export function writeRegionAccess(out: Uint8Array, offset: number, region: number, count: number): void {
  const v = view(out);
  setU64(v, 0, offset);
  v.setUint32(8, region, true);
  v.setUint32(12, count, true);
}

/** Size of one REGION_WRITE_MULTI entry. */
export const WRITE_MULTI_ENTRY_SIZE = 24;
/** Most bytes one REGION_WRITE_MULTI entry carries. */
export const WRITE_MULTI_MAX_DATA = 8;

/**
 * Checks a REGION_WRITE_MULTI payload (`wr_cnt u64`, then wr_cnt × {offset u64, region u32, count u32,
 * data[8]}) and returns wr_cnt. EINVAL when the length is not 8 + 24·wr_cnt, wr_cnt is 0, or an entry's
 * count is 0 or above 8.
 */
export function decodeWriteMultiCount(p: Uint8Array): number {
  if (p.length < 8) throw protocolError(`REGION_WRITE_MULTI: payload of ${p.length} bytes, at least 8 needed`);
  const v = view(p);
  const n = getU64(v, 0, 'REGION_WRITE_MULTI wr_cnt');
  if (n === 0 || p.length !== 8 + WRITE_MULTI_ENTRY_SIZE * n) {
    throw protocolError(`REGION_WRITE_MULTI: payload of ${p.length} bytes disagrees with wr_cnt ${n}`);
  }
  for (let i = 0; i < n; i++) {
    const count = v.getUint32(8 + WRITE_MULTI_ENTRY_SIZE * i + 12, true);
    if (count === 0 || count > WRITE_MULTI_MAX_DATA) throw protocolError(`REGION_WRITE_MULTI: entry ${i} has count ${count} (1..8 allowed)`);
  }
  return n;
}

/** Size of the DMA_READ/DMA_WRITE header: `address u64, count u64`. */
export const DMA_ACCESS_SIZE = 16;

/** A DMA_READ/DMA_WRITE header. */
export interface DmaAccess {
  /** IOVA. */
  readonly address: number;
  /** Bytes. */
  readonly count: number;
}

/**
 * Decodes a DMA_READ/DMA_WRITE header; `dataBytes` is the count the payload must carry after it
 * (`'count'`: exactly `count` bytes; 0: none). EINVAL on a length disagreement or a count above 1 MiB.
 */
export function decodeDmaAccess(p: Uint8Array, data: 'count' | 'none', what: string): DmaAccess {
  if (p.length < DMA_ACCESS_SIZE) throw protocolError(`${what}: payload of ${p.length} bytes, at least ${DMA_ACCESS_SIZE} needed`);
  const v = view(p);
  const address = getU64(v, 0, `${what} address`);
  const count = getU64(v, 8, `${what} count`);
  if (count > MAX_DATA_XFER_SIZE) throw protocolError(`${what}: count ${count} exceeds ${MAX_DATA_XFER_SIZE}`);
  const want = DMA_ACCESS_SIZE + (data === 'count' ? count : 0);
  if (p.length !== want) throw protocolError(`${what}: payload of ${p.length} bytes disagrees with count ${count} (${want} expected)`);
  return { address, count };
}

/** Writes a DMA access header at the start of `out`. */
export function writeDmaAccess(out: Uint8Array, address: number, count: number): void {
  const v = view(out);
  setU64(v, 0, address);
  setU64(v, 8, count);
}
