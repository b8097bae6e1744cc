/**
 * The vfio-user wire protocol's fixed parts (`vfio-uapi.md` §11.2–11.3): command numbers, the 16-byte
 * message header, its flags, and the size limits. Integers are little-endian.
 */
import { VfioError } from '../vfio/index.js';

/** Command numbers (§11.3). */
export const VfioUserCommand = {
  VERSION: 1,
  DMA_MAP: 2,
  DMA_UNMAP: 3,
  DEVICE_GET_INFO: 4,
  DEVICE_GET_REGION_INFO: 5,
  DEVICE_GET_REGION_IO_FDS: 6,
  DEVICE_GET_IRQ_INFO: 7,
  DEVICE_SET_IRQS: 8,
  REGION_READ: 9,
  REGION_WRITE: 10,
  DMA_READ: 11,
  DMA_WRITE: 12,
  DEVICE_RESET: 13,
  REGION_WRITE_MULTI: 15,
  DEVICE_FEATURE: 16,
  MIG_DATA_READ: 17,
  MIG_DATA_WRITE: 18,
} as const;

/** The name of command `cmd` (for logs), or `cmd <n>`. */
export function commandName(cmd: number): string {
  for (const [name, n] of Object.entries(VfioUserCommand)) if (n === cmd) return name;
  return `cmd ${cmd}`;
}

/** Size of the message header. */
export const HEADER_SIZE = 16;
/** Header flags: bits 3:0 are the message type. */
export const FLAG_TYPE_MASK = 0xf;
/** Type: a command. */
export const FLAG_TYPE_COMMAND = 0;
/** Type: a reply. */
export const FLAG_TYPE_REPLY = 1;
/** The sender wants no reply (a posted write). */
export const FLAG_NO_REPLY = 1 << 4;
/** A reply carrying an errno in `error`. */
export const FLAG_ERROR = 1 << 5;

/** Default and server-side largest `count` of a REGION or DMA read/write: 1 MiB (§11.4). */
export const MAX_DATA_XFER_SIZE = 1 << 20;
/** Largest message accepted: 1 MiB of data plus its headers (§11.11). */
export const MAX_MESSAGE_SIZE = MAX_DATA_XFER_SIZE + 32;
/** fds the library can receive in one message (the reply's `max_msg_fds`, §11.4). */
export const MAX_MSG_FDS = 8;
/** Highest protocol minor the library speaks (§11.4: minor = min(proposed, 2)). */
export const PROTOCOL_MINOR = 2;

/** A decoded message header. */
export interface MessageHeader {
  /** Chosen by the sender, echoed in the reply. */
  readonly msgId: number;
  /** The command (also in replies). */
  readonly command: number;
  /** Size of the whole message, header included. */
  readonly size: number;
  /** Type and flag bits. */
  readonly flags: number;
  /** errno of an error reply. */
  readonly error: number;
}

/** Writes a header at `offset` of `view`. */
export function writeHeader(view: DataView, offset: number, msgId: number, command: number, size: number, flags: number, error = 0): void {
  view.setUint16(offset, msgId, true);
  view.setUint16(offset + 2, command, true);
  view.setUint32(offset + 4, size, true);
  view.setUint32(offset + 8, flags, true);
  view.setUint32(offset + 12, error, true);
}

/** Reads the header in the first 16 bytes of `bytes` (which must hold them). */
export function readHeader(bytes: Uint8Array): MessageHeader {
  const v = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
  return { msgId: v.getUint16(0, true), command: v.getUint16(2, true), size: v.getUint32(4, true), flags: v.getUint32(8, true), error: v.getUint32(12, true) };
}

/** A whole message: header fields plus `payload` (the bytes after the header). */
export function encodeMessage(msgId: number, command: number, flags: number, payload: Uint8Array | null = null, error = 0): Uint8Array {
  const n = payload === null ? 0 : payload.length;
  const out = new Uint8Array(HEADER_SIZE + n);
  writeHeader(new DataView(out.buffer), 0, msgId, command, out.length, flags, error);
  if (payload !== null) out.set(payload, HEADER_SIZE);
  return out;
}

/** An error reply: the header alone, flags reply | error, `error` = the errno (§11.2). */
export function encodeErrorReply(msgId: number, command: number, errno: number): Uint8Array {
  return encodeMessage(msgId, command, FLAG_TYPE_REPLY | FLAG_ERROR, null, errno);
}

/** A protocol violation: EINVAL with `message`. */
export function protocolError(message: string): VfioError {
  return new VfioError('EINVAL', message);
}
