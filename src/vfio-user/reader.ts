/**
 * Cuts a vfio-user byte stream into messages, whatever the chunks it arrives in, with bounded memory:
 * at most one message (≤ the size limit) is buffered. A header announcing more than the limit is
 * reported at once and its bytes are discarded as they stream in, never buffered; a header announcing
 * fewer than 16 bytes loses the framing (nothing after it can be trusted) and stops the reader.
 *
 * File descriptors (fd mode) arrive with the chunk a `recvmsg` returned. The kernel delivers the fds
 * of a `sendmsg` with the first bytes that call sent and ends the `recvmsg` there, so when the peer
 * sends each message with one `sendmsg` (QEMU and the library's client do) the fds belong to the
 * message holding the chunk's last byte. The reader gives them to that message; a message that takes
 * none closes them (the owner's job).
 */
import { HEADER_SIZE, readHeader, type MessageHeader } from './protocol.js';

/** What a reader reports. */
export interface ReaderSink {
  /** A whole message: its header, its payload (a fresh copy or a view the sink may keep) and its fds. */
  message(header: MessageHeader, payload: Uint8Array, fds: number[]): void;
  /** A header announcing more than the limit: its bytes will be discarded; `fds` came with it. */
  oversize(header: MessageHeader, fds: number[]): void;
  /** A header announcing fewer than 16 bytes: the stream cannot be followed any more. */
  malformed(header: MessageHeader, fds: number[]): void;
}

/** The incremental message parser of one connection. */
export class MessageReader {
  private readonly head = new Uint8Array(HEADER_SIZE);
  private headFill = 0;
  private header: MessageHeader | null = null;
  private body: Uint8Array | null = null;
  private bodyFill = 0;
  private discard = 0;
  private fds: number[] = [];
  private dead = false;

  /** A reader accepting messages of at most `limit` bytes (header included). */
  constructor(
    private readonly limit: number,
    private readonly sink: ReaderSink,
  ) {}

  /** True once the framing was lost (a header size below 16): later chunks are ignored (their fds returned). */
  get stopped(): boolean {
    return this.dead;
  }

  /** Bytes held for the message in progress (at most the limit). */
  get buffered(): number {
    return this.headFill + this.bodyFill;
  }

  /**
   * Feeds `chunk` with the fds its `recvmsg` returned. Returns the fds no message takes (they came with
   * a discarded message, or after the framing was lost); the caller closes them.
   */
  push(chunk: Uint8Array, fds: readonly number[] = []): number[] {
    if (this.dead) return [...fds];
    const end = chunk.length;
    // The fds go to the message holding the chunk's last byte; `owned` says whether they were placed.
    let loose: number[] | null = fds.length > 0 ? [...fds] : null;
    const leftover: number[] = [];
    let at = 0;
    while (at < end) {
      if (this.discard > 0) {
        const n = Math.min(this.discard, end - at);
        this.discard -= n;
        at += n;
        if (at === end && loose !== null) {
          leftover.push(...loose);
          loose = null;
        }
        continue;
      }
      if (this.header === null) {
        const n = Math.min(HEADER_SIZE - this.headFill, end - at);
        this.head.set(chunk.subarray(at, at + n), this.headFill);
        this.headFill += n;
        at += n;
        if (this.headFill < HEADER_SIZE) break;
        const h = readHeader(this.head);
        this.headFill = 0;
        if (h.size < HEADER_SIZE) {
          this.dead = true;
          const mine = this.takeFds();
          if (loose !== null) mine.push(...loose);
          this.sink.malformed(h, mine);
          return leftover;
        }
        if (h.size > this.limit) {
          this.discard = h.size - HEADER_SIZE;
          const mine = this.takeFds();
          if (loose !== null && this.discard >= end - at) {
            mine.push(...loose);
            loose = null;
          }
          this.sink.oversize(h, mine);
          continue;
        }
        this.header = h;
        const bodySize = h.size - HEADER_SIZE;
        // A body wholly inside this chunk is handed out as a view (the chunk is the caller's fresh copy).
        this.body = bodySize === 0 || end - at >= bodySize ? null : new Uint8Array(bodySize);
        this.bodyFill = 0;
      }
      const h = this.header;
      const bodySize = h.size - HEADER_SIZE;
      let payload: Uint8Array;
      if (this.body === null) {
        payload = chunk.subarray(at, at + bodySize);
        at += bodySize;
      } else {
        const n = Math.min(bodySize - this.bodyFill, end - at);
        this.body.set(chunk.subarray(at, at + n), this.bodyFill);
        this.bodyFill += n;
        at += n;
        if (this.bodyFill < bodySize) break;
        payload = this.body;
      }
      this.header = null;
      this.body = null;
      this.bodyFill = 0;
      const mine = this.takeFds();
      if (loose !== null && at === end) {
        mine.push(...loose);
        loose = null;
      }
      this.sink.message(h, payload, mine);
    }
    // The chunk ended inside a message (or carried no bytes): its fds wait for that message.
    if (loose !== null) this.fds.push(...loose);
    return leftover;
  }

  private takeFds(): number[] {
    const out = this.fds;
    this.fds = [];
    return out;
  }

  /** Drops the message in progress and returns the fds it held (for the caller to close). */
  reset(): number[] {
    const fds = this.fds;
    this.fds = [];
    this.header = null;
    this.body = null;
    this.headFill = 0;
    this.bodyFill = 0;
    this.discard = 0;
    return fds;
  }
}
