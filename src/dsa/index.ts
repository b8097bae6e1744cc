/**
 * `vidxd/dsa`: the DSA model. Imports `memory` (and later `pci`).
 */

// --- Descriptor engine and its constants (dsa-operations.md) ---
export { Opcode, OPCODE_NAMES } from './spec/opcodes.js';
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
} from './spec/flags.js';
export {
  hasRwBit, isStatusCode, isSuccessLike, SoftwareErrorCode, Status, STATUS_CODE_MASK, STATUS_NAMES, STATUS_WRITE, SubmitStatus, type SubmitStatusValue,
} from './spec/status.js';
export {
  DESC_SIZE,
  Desc,
  descAddr,
  descFlags,
  descHi,
  descLo,
  descOpcode,
  descOpcodeAt,
  descPasid,
  descPasidAt,
  descPriv,
  descPrivAt,
  descU16,
  descU32,
  descU8,
  writeDescAddr,
  writeDescHeader,
} from './spec/descriptor.js';
export { CR_ALIGN, CR_SIZE, Cr, OperandId } from './spec/completion-record.js';
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
} from './engine/op-table.js';
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
} from './spec/caps.js';
export {
  ExecContext,
  type InterruptSink,
  NULL_ERRORS,
  NULL_INTERRUPTS,
  type PageRequestHandler,
  type ReadbackHook,
  SoftwareError,
  type SoftwareErrorSink,
} from './engine/context.js';
export { checkWorkBudget, DEFAULT_WORK_BUDGET, DescriptorEngine, type EngineOptions, MIN_WORK_BUDGET, PARKED, YIELDED } from './engine/engine.js';
export { InFlightDescriptor, type InFlightOwner, InFlightState } from './engine/in-flight.js';
export { PAGE_REQUEST_ROUNDS } from './engine/frame.js';
export {
  BITREV8,
  bitReverse32,
  CRC32C_IMPLEMENTATION,
  CRC32C_NATIVE_MIN,
  CRC32C_NATIVE_MIN_MSB_FIRST,
  CRC32C_POLY_REFLECTED,
  CRC32C_TABLE,
  crc32c,
  type Crc32cImplementation,
  crc32cFinish,
  crc32cStart,
  crc32cUpdate,
  crc32cUpdateJs,
  crc32cUpdateMsbFirst,
  crc32cUpdateMsbFirstJs,
} from './engine/crc32c.js';
export { CRC16_T10DIF_POLY, CRC16_T10DIF_TABLE, crc16T10Dif, crc16T10DifUpdate } from './engine/crc16.js';
export { CRC64_TABLE_HI, CRC64_TABLE_LO, crc64Finish, crc64Start, crc64Update } from './engine/crc64.js';

// --- Device model: registers, WQs, portals, groups, engines, commands (issue 4) ---
export {
  BASE_COMMAND_MASK, commandMask, DEFAULT_DSA_PROFILE, type DsaProfile, dsaProfile, FULL_COMMAND_MASK, gencapLow, imsEntries,
  msixVectors,
} from './spec/profile.js';
export {
  type Bar0Layout, bar0Layout, GRPCFG_SIZE, IMS_ENTRY_SIZE, MSIX_PERM_SIZE, PORTAL_PAGE, PORTAL_SLOT, PORTAL_STRIDE, TABLE_UNIT,
  WQCFG_SIZE,
} from './spec/layout.js';
export {
  type Access, bitMask, bits, type BlockDef, describedAs, type FieldBits, type FieldDef, fieldMask, fieldOf, type FieldPolicy, fields, type FieldsOf,
  type AnyFieldPolicy, blockFrom, type BlockLayout, blockLayout, type FieldSpec, type Lock, packRegister, policies, type PolicyContext, register, type RegisterContext, type RegisterDef, registerFrom, type RegisterLayout, registerLayout,
  type RegisterOptions, type RegisterWindow, resetValue, ro, rw, type SnakeCase, status, unpackField, wo,
} from './spec/register-def.js';
export {
  VERSION_BITS, GENCAP_BITS, WQCAP_BITS, GRPCAP_BITS, ENGCAP_BITS, OPCAP_BITS, OFFSETS_BITS, GENCFG_BITS,
  GENCTRL_BITS, GENSTS_BITS, INTCAUSE_BITS, CMD_BITS, CMDSTS_BITS, CMDCAP_BITS, SWERR_BITS, MSIX_PERM_BITS,
  GRPWQCFG_BITS, GRPENGCFG_BITS, GRPFLAGS_BITS, WQCFG_BITS, IMS_ENTRY_BITS, MSIX_ENTRY_BITS, MSIX_PBA_BITS,
  VERSION_REG, GENCAP_REG, WQCAP_REG, GRPCAP_REG, ENGCAP_REG, OPCAP_REG, OFFSETS_REG, GENCFG_REG,
  GENCTRL_REG, GENSTS_REG, INTCAUSE_REG, CMD_REG, CMDSTS_REG, CMDCAP_REG, SWERR_REG, MSIX_PERM_REG,
  GRPWQCFG_REG, GRPENGCFG_REG, GRPFLAGS_REG, WQCFG_REG, IMS_ENTRY_REG, MSIX_ENTRY_REG, MSIX_PBA_REG,
  GENERAL_TABLE, MSIX_PERM_TABLE, GRPCFG_TABLE, WQCFG_TABLE, IMS_TABLE, MSIX_TABLE, MSIX_PBA_TABLE,
} from './spec/register-fields.js';
export {
  BAR0_BLOCKS, CMD, CMDCAP, CMDSTS, ENGCAP, GENCAP, GENCFG, GENCTRL, GENERAL_BLOCK, GENSTS, GRPCAP, GRPCFG_BLOCK, GRPENGCFG,
  GRPFLAGS, GRPWQCFG, IMS_BLOCK, IMS_ENTRY, INTCAUSE, MSIX_ENTRY, MSIX_PBA, MSIX_PBA_BLOCK, MSIX_PERM, MSIX_PERM_BLOCK,
  MSIX_TABLE_BLOCK, OFFSETS, OPCAP, SWERR, VERSION, WQCAP, WQCFG, WQCFG_BLOCK,
} from './device/registers.js';
export {
  type MsixWindow, RegisterFile, type RegisterOwner, type RegisterRefreshHook, type RegisterWriteHook,
} from './device/register-file.js';
export { renderRegisterReference } from './device/register-doc.js';
export { CMDSTS_CODES, CMDSTS_ERRORS, CmdStatus, type CmdStatusDef, cmdStatusInfo, describeCmdStatus } from './spec/cmdsts.js';
export {
  Command, type CommandCode, commandCode, COMMAND_CODES, type CommandName, DeviceState, INT_HANDLE_IMS, wqMaskOperand,
} from './spec/command-codes.js';
export { COMMAND_BY_CODE, COMMAND_WAITS, type CommandContext, type CommandDef, COMMANDS, type WaitKind } from './device/commands.js';
export {
  type CommandEntry, CommandUnit, type CommandUnitDevice, type CommandUnitOptions, type CommandWaitStrategy,
} from './device/command-unit.js';
export { checkEnableDevice, checkEnableWq, decodeGroups, type GroupMap, type PciState, readWqConfig } from './device/config-check.js';
export { type HeldDescriptor, SLOT_IMS, SLOT_PRIV, SLOT_SHARED, WorkQueue, type WqConfig, type WqHost, WqShare } from './queue/work-queue.js';
export { GroupArbiter } from './queue/arbiter.js';
export { type ImsDelivery, InterruptController, type VectorDelivery } from './device/interrupts.js';
export { logSoftwareError, SwerrLog } from './device/swerr.js';
export { type PasidPolicy, Portal, PortalRegion, PortalWindow } from './queue/portal.js';
export { MappedRegisters, RegisterMmio } from './device/mmio.js';
export { buildDsaFunction, type DsaPciParts, PORTAL_BAR, REGISTER_BAR } from './device/pci-function.js';
export { DsaDevice, type DsaDeviceOptions, type ExecutionMode, type PortalWriteKind, type WithdrawnDescriptor } from './device/device.js';
export {
  SharedPortal, SharedPortalError, SharedPortalRing, SharedPortalSet, SharedPortalState, SharedPortalWord,
} from './queue/shared-portal.js';
export {
  clearLastEmbedderError, type EmbedderCallSite, type EmbedderErrorHook, type EmbedderErrorRecord, lastEmbedderError, reportEmbedderError,
  setEmbedderErrorHook,
} from '../embedder.js';
