/**
 * Descriptor codec: byte offsets of the 64-byte descriptor (dsa-operations.md §1) and accessor
 * functions that read/write fields in place over a `DataView` (`base` = offset of the descriptor).
 * No object is created per descriptor. All fields are little-endian.
 */

/** Size of a descriptor in bytes. */
export const DESC_SIZE = 64;

/**
 * Byte offsets of descriptor fields. Several names share an offset (per-operation meanings). Each
 * gives the field of Linux's `struct dsa_hw_desc` it is.
 */
export const Desc = {
  /** u32: [19:0] PASID, [31] Priv (Linux `pasid`, `priv`). */
  PASID_PRIV: 0,
  /** u24 flags (bytes 4–6; Linux `flags`). */
  FLAGS: 4,
  /** u8 opcode (Linux `opcode`). */
  OPCODE: 7,
  /** u64 completion record address (Linux `completion_addr`). */
  CR_ADDR: 8,
  /** u64 source / source 1 / fill pattern / descriptor list / readback 1 / delta record (AP_DELTA) (Linux `src_addr`, `pattern`, `desc_list_addr`, `rdback_addr`). */
  SRC: 16,
  /** u64 destination / destination 1 / source 2 / compare pattern / readback 2 (Linux `dst_addr`, `src2_addr`, `comp_pattern`, `rdback_addr2`). */
  DST: 24,
  /** u32 transfer size / descriptor count (BATCH) (Linux `xfer_size`, `desc_count`). */
  XFER_SIZE: 32,
  /** u16 completion interrupt handle (Linux `int_handle`). */
  INT_HANDLE: 36,
  /** u8 COMPARE/COMPVAL expected result (bit 0) (Linux `expected_res`). */
  EXPECTED_RESULT: 40,
  /** u64 CR_DELTA delta record address (Linux `delta_addr`). */
  DELTA_ADDR: 40,
  /** u32 CR_DELTA maximum delta record size (Linux `max_delta_size`). */
  MAX_DELTA_SIZE: 48,
  /** u8 CR_DELTA expected result mask (bits 2:0) (Linux `expected_res_mask`). */
  EXPECTED_RESULT_MASK: 56,
  /** u32 AP_DELTA delta record size (Linux `delta_rec_size`). */
  DELTA_SIZE: 40,
  /** u64 DUALCAST destination 2 (Linux `dest2`). */
  DST2: 40,
  /** u64 FILL pattern upper 8 bytes (16-byte pattern, 2.0) (Linux `pattern_upper`). */
  PATTERN_HI: 40,
  /** u32 (u64 with CRC64) CRC seed (Linux `crc_seed`). */
  CRC_SEED: 40,
  /** u64 CRC seed address (op flag 16) (Linux `seed_addr`). */
  CRC_SEED_ADDR: 48,
  /** u8 source DIF flags (Linux `src_dif_flags`, `src_upd_flags`). */
  SRC_DIF_FLAGS: 40,
  /** u8 destination DIF flags (Linux `dest_dif_flag`, `upd_dest_flags`). */
  DST_DIF_FLAGS: 41,
  /** u8 DIF flags (Linux `dif_chk_flags`, `dif_ins_flags`, `dif_upd_flags`). */
  DIF_FLAGS: 42,
  /** u32 source reference tag seed (CHECK, STRP, UPDT) (Linux `chk_ref_tag_seed`, `src_ref_tag_seed`). */
  SRC_REF_SEED: 48,
  /** u16 source application tag mask (Linux `chk_app_tag_mask`, `src_app_tag_mask`). */
  SRC_APP_MASK: 52,
  /** u16 source application tag seed (Linux `chk_app_tag_seed`, `src_app_tag_seed`). */
  SRC_APP_SEED: 54,
  /** u32 destination reference tag seed (INS, UPDT) (Linux `ins_ref_tag_seed`, `dest_ref_tag_seed`). */
  DST_REF_SEED: 56,
  /** u16 destination application tag mask (Linux `ins_app_tag_mask`, `dest_app_tag_mask`). */
  DST_APP_MASK: 60,
  /** u16 destination application tag seed (Linux `ins_app_tag_seed`, `dest_app_tag_seed`). */
  DST_APP_SEED: 62,
} as const;

/** Reads the 24-bit flags. */
export function descFlags(v: DataView, base: number): number {
  return v.getUint32(base + Desc.FLAGS, true) & 0xffffff;
}

/** Reads the opcode. */
export function descOpcode(v: DataView, base: number): number {
  return v.getUint8(base + Desc.OPCODE);
}

/** Reads the 20-bit PASID of bytes 0–3 (meaningful for ENQCMDS submissions only, §9.4). */
export function descPasid(v: DataView, base: number): number {
  return v.getUint32(base, true) & 0xfffff;
}

/** Reads the Priv bit (byte 3 bit 7). */
export function descPriv(v: DataView, base: number): boolean {
  return (v.getUint8(base + 3) & 0x80) !== 0;
}

/** The opcode of the descriptor at `src[off, off + 64)` (a submitter's byte array). */
export function descOpcodeAt(src: Uint8Array, off: number): number {
  return src[off + Desc.OPCODE] as number;
}

/** The 20-bit PASID of bytes 0–3 of the descriptor at `src[off, off + 64)`. */
export function descPasidAt(src: Uint8Array, off: number): number {
  return ((src[off] as number) | ((src[off + 1] as number) << 8) | ((src[off + 2] as number) << 16)) & 0xfffff;
}

/** The Priv bit (byte 3 bit 7) of the descriptor at `src[off, off + 64)`. */
export function descPrivAt(src: Uint8Array, off: number): boolean {
  return ((src[off + 3] as number) & 0x80) !== 0;
}

/** Reads a u8 field. */
export function descU8(v: DataView, base: number, field: number): number {
  return v.getUint8(base + field);
}

/** Reads a u16 field. */
export function descU16(v: DataView, base: number, field: number): number {
  return v.getUint16(base + field, true);
}

/** Reads a u32 field. */
export function descU32(v: DataView, base: number, field: number): number {
  return v.getUint32(base + field, true);
}

/** Reads the low half of a u64 field. */
export function descLo(v: DataView, base: number, field: number): number {
  return v.getUint32(base + field, true);
}

/** Reads the high half of a u64 field. */
export function descHi(v: DataView, base: number, field: number): number {
  return v.getUint32(base + field + 4, true);
}

/** Reads a u64 address field as a number, or -1 when it is ≥ 2^53 (unmappable). */
export function descAddr(v: DataView, base: number, field: number): number {
  const hi = v.getUint32(base + field + 4, true);
  return hi < 0x200000 ? hi * 0x1_0000_0000 + v.getUint32(base + field, true) : -1;
}

/** Writes the PASID/Priv word, flags and opcode (bytes 0–7). */
export function writeDescHeader(v: DataView, base: number, opcode: number, flags: number, pasid = 0, priv = false): void {
  v.setUint32(base, ((pasid & 0xfffff) | (priv ? 0x80000000 : 0)) >>> 0, true);
  v.setUint32(base + Desc.FLAGS, ((flags & 0xffffff) | ((opcode & 0xff) << 24)) >>> 0, true);
}

/** Writes a u64 field from a number < 2^53. */
export function writeDescAddr(v: DataView, base: number, field: number, value: number): void {
  v.setUint32(base + field, value % 0x1_0000_0000, true);
  v.setUint32(base + field + 4, Math.floor(value / 0x1_0000_0000), true);
}
