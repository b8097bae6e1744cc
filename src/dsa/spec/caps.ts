/**
 * Engine capabilities: what the GENCAP and OPCAP registers advertise (dsa-operations.md §13, §14).
 * The default is the Sapphire Rapids DSA 1.0 profile with the model's full-1.0 OPCAP.
 */

/** Capabilities the descriptor engine is configured with. Every item is configurable. */
export interface EngineCaps {
  /** OPCAP as u32 words, word 0 = opcodes 0–31 (bit n = opcode n enabled). */
  readonly opcap: readonly number[];
  /** GENCAP bit 0: block on fault (WQCFG.bof may be set). */
  readonly blockOnFault: boolean;
  /** GENCAP bit 1: MEMMOVE accepts overlapping buffers. */
  readonly overlapCopy: boolean;
  /** GENCAP bit 2: cache control (CC1, "write to cache"). */
  readonly cacheControl: boolean;
  /** GENCAP bit 5: durable write (CC encoding 100). */
  readonly durableWrite: boolean;
  /** GENCAP bit 8: destination readback (CC2 encodings). */
  readonly destinationReadback: boolean;
  /** GENCAP bit 9: Drain readback addresses (op flags 16/17). */
  readonly drainReadback: boolean;
  /** GENCAP bit 10: 16-byte fill pattern (2.0). */
  readonly fill16: boolean;
  /** GENCAP bit 11: CRC-64 (2.0). */
  readonly crc64: boolean;
  /** GENCAP bit 12: CR fault info byte and SWERROR operand ids (2.0). */
  readonly crFaultInfo: boolean;
  /** GENCAP bit 15: batch continuation (Batch Result and Batch Error flag). */
  readonly batchContinuation: boolean;
  /** GENCAP bit 52: batch of one descriptor allowed (3.0). */
  readonly batch1: boolean;
  /** GENCAP bits 20:16: maximum transfer size shift. */
  readonly maxTransferShift: number;
  /** GENCAP bits 24:21: maximum batch size shift. */
  readonly maxBatchShift: number;
  /** Rev 3.0 profile: flag bit 5 is Cache Control 3 (else reserved, the DSA 1.0 meaning). */
  readonly cacheControl3: boolean;
  /** 1.x profile: CFLUSH cache-control encoding 001 ("write back, keep lines") is valid. */
  readonly cflushKeepLines: boolean;
  /** Status 0x19 is logged in SWERROR in addition to the CR (§4.1 model choice). */
  readonly logInvalidHandle: boolean;
  /** Rev 3.0 SWERROR bit 7 (Error Information Valid) is produced. */
  readonly errorInfoValid: boolean;
}

/** OPCAP of the model's default profile: opcodes 0x00–0x09, 0x10–0x15, 0x20. */
export const DEFAULT_OPCAP: readonly number[] = [0x003f03ff, 0x00000001, 0, 0, 0, 0, 0, 0];
/** OPCAP of the strict Sapphire Rapids profile (no delta operations). */
export const SPR_STRICT_OPCAP: readonly number[] = [0x003f027f, 0x00000001, 0, 0, 0, 0, 0, 0];
/** GENCAP of the Sapphire Rapids profile, low dword. */
export const SPR_GENCAP_LO = 0x915f0107;
/** GENCAP of the Sapphire Rapids profile, high dword. */
export const SPR_GENCAP_HI = 0x00000040;

/** The default capabilities: Sapphire Rapids GENCAP 0x00000040_915F0107 with the full 1.0 OPCAP. */
export const DEFAULT_ENGINE_CAPS: EngineCaps = Object.freeze({
  opcap: DEFAULT_OPCAP,
  blockOnFault: true,
  overlapCopy: true,
  cacheControl: true,
  durableWrite: false,
  destinationReadback: true,
  drainReadback: false,
  fill16: false,
  crc64: false,
  crFaultInfo: false,
  batchContinuation: false,
  batch1: false,
  maxTransferShift: 31,
  maxBatchShift: 10,
  cacheControl3: false,
  cflushKeepLines: true,
  logInvalidHandle: true,
  errorInfoValid: false,
});

/** The default capabilities with some items replaced. */
export function engineCaps(overrides: Partial<EngineCaps> = {}): EngineCaps {
  return Object.freeze({ ...DEFAULT_ENGINE_CAPS, ...overrides });
}

/**
 * Capabilities decoded from raw GENCAP (two dwords) and OPCAP words; items that have no register
 * bit (`cacheControl3`, `cflushKeepLines`, `logInvalidHandle`, `errorInfoValid`) come from `extra`
 * or the default.
 */
export function capsFromRegisters(
  gencapLo: number,
  gencapHi: number,
  opcap: readonly number[],
  extra: Partial<EngineCaps> = {},
): EngineCaps {
  const bit = (n: number): boolean => ((n < 32 ? gencapLo >>> n : gencapHi >>> (n - 32)) & 1) === 1;
  return engineCaps({
    opcap: [...opcap],
    blockOnFault: bit(0),
    overlapCopy: bit(1),
    cacheControl: bit(2),
    durableWrite: bit(5),
    destinationReadback: bit(8),
    drainReadback: bit(9),
    fill16: bit(10),
    crc64: bit(11),
    crFaultInfo: bit(12),
    batchContinuation: bit(15),
    batch1: bit(52),
    maxTransferShift: (gencapLo >>> 16) & 0x1f,
    maxBatchShift: (gencapLo >>> 21) & 0xf,
    ...extra,
  });
}

/** True when `caps.opcap` enables `opcode`. */
export function opcapHas(caps: EngineCaps, opcode: number): boolean {
  return ((((caps.opcap[opcode >>> 5] ?? 0) >>> (opcode & 31)) & 1) === 1);
}
