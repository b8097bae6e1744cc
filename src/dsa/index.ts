/**
 * `vidxd/dsa`: the DSA model. Imports `memory` (and later `pci`).
 */

// --- Descriptor engine and its constants (dsa-operations.md) ---
export { Opcode, OPCODE_NAMES } from './opcodes.js';
export {
  ALWAYS_RESERVED_FLAGS,
  CACHE_CONTROL_FLAGS,
  DIF_BLOCK_SIZES,
  DIF_TUPLE_SIZE,
  DifFlag,
  DifStatus,
  DstDifFlag,
  Flag,
  OP_SPECIFIC_FLAGS,
  OpFlag,
  SrcDifFlag,
} from './flags.js';
export { hasRwBit, isStatusCode, isSuccessLike, SoftwareErrorCode, Status, STATUS_CODE_MASK, STATUS_NAMES, STATUS_WRITE } from './status.js';
export {
  DESC_SIZE,
  Desc,
  descAddr,
  descFlags,
  descHi,
  descLo,
  descOpcode,
  descPasid,
  descPriv,
  descU16,
  descU32,
  descU8,
  writeDescAddr,
  writeDescHeader,
} from './descriptor.js';
export { CR_ALIGN, CR_SIZE, Cr, OperandId } from './completion-record.js';
export {
  type ByteRange,
  CacheRule,
  type ConditionalReserve,
  type FlagGate,
  Len,
  OP_SPECS,
  type OperandSpec,
  type OpSpec,
  opSpec,
  type ReservedBits,
  SizeRule,
  Slot,
  SLOT_OFFSETS,
} from './op-table.js';
export {
  capsFromRegisters,
  DEFAULT_ENGINE_CAPS,
  DEFAULT_OPCAP,
  type EngineCaps,
  engineCaps,
  opcapHas,
  SPR_GENCAP_HI,
  SPR_GENCAP_LO,
  SPR_STRICT_OPCAP,
} from './caps.js';
export {
  ExecContext,
  type InterruptSink,
  NULL_ERRORS,
  NULL_INTERRUPTS,
  type PageRequestHandler,
  type ReadbackHook,
  SoftwareError,
  type SoftwareErrorSink,
} from './context.js';
export { DescriptorEngine } from './engine.js';
export { PAGE_REQUEST_ROUNDS } from './frame.js';
export {
  BITREV8,
  bitReverse32,
  CRC32C_POLY_REFLECTED,
  CRC32C_TABLE,
  crc32c,
  crc32cFinish,
  crc32cStart,
  crc32cUpdate,
  crc32cUpdateMsbFirst,
} from './crc32c.js';
export { CRC16_T10DIF_POLY, CRC16_T10DIF_TABLE, crc16T10Dif, crc16T10DifUpdate } from './crc16.js';
export { CRC64_TABLE_HI, CRC64_TABLE_LO, crc64Finish, crc64Start, crc64Update } from './crc64.js';
