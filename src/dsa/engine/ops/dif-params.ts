/** Decoded DIF parameters of the descriptor being executed (kept in the frame, reused). */
export class DifParams {
  /** Data block size BS. */
  bs = 512;
  /** Source block stride in bytes. */
  srcStride = 520;
  /** Destination block stride in bytes (0: no destination). */
  dstStride = 0;
  /** Guard CRC initial value. */
  guardInit = 0;
  /** Guard CRC final XOR. */
  guardXor = 0;
  /** Source DIF flags. */
  srcFlags = 0;
  /** Source reference tag seed. */
  srcRef = 0;
  /** Source application tag mask. */
  srcMask = 0;
  /** Source application tag seed. */
  srcApp = 0;
  /** Destination DIF flags. */
  dstFlags = 0;
  /** Destination reference tag seed. */
  dstRef = 0;
  /** Destination application tag mask. */
  dstMask = 0;
  /** Destination application tag seed. */
  dstApp = 0;
  /** Tuple of the last checked source block: guard. */
  tupleGuard = 0;
  /** Tuple of the last checked source block: application tag. */
  tupleApp = 0;
  /** Tuple of the last checked source block: reference tag. */
  tupleRef = 0;
  /** Guard computed over the last block's data (-1: not computed). */
  computedGuard = -1;
}
