/**
 * The one error hook for embedder code that throws (docs/errors.md §6). Wherever the library calls
 * out to a function the embedder gave it — an interrupt trigger, the request (REQ) or error trigger, a
 * page-request service, a readback hook, the automatic mode's scheduler, an MSI-X or interrupt-handle
 * receiver, a progress listener — an exception is caught right there, the library finishes its own
 * bookkeeping as if the call had returned (a throwing page-request service counts as a refused page
 * request), and the error is handed to {@link reportEmbedderError}. It never escapes into the guest's
 * register or portal access, into `step()`, or into the VMM call that happened to trigger the callback.
 *
 * A leaf module like `errno.ts`: every layer may import it.
 */

/** Where the library called the embedder code that threw. */
export type EmbedderCallSite =
  /** An interrupt trigger of an MSI-X/MSI/INTx vector (VFIO SET_IRQS EVENTFD, or a vfio-user client's). */
  | 'interrupt-trigger'
  /** The error (ERR) notification trigger. */
  | 'error-trigger'
  /** The device-request (REQ) trigger: the host asking for the device back. */
  | 'request-trigger'
  /** `DsaDevice.pageRequests`: the page-request service (the request is treated as refused). */
  | 'page-request'
  /** `DsaDevice.readback`: the destination-readback hook. */
  | 'readback'
  /** `DsaDeviceOptions.schedule`: the automatic mode's scheduler (the run is not scheduled; the next kick or step runs the work). */
  | 'scheduler'
  /** `DsaDevice.onProgress`: a progress listener. */
  | 'progress-listener'
  /** `DsaDevice.setMsixDelivery`: the receiver of the model's MSI-X messages. */
  | 'msix-delivery'
  /** `DsaDevice.setImsDelivery`: the receiver of the model's interrupt-handle messages. */
  | 'ims-delivery';

/** Receives an error thrown by embedder code, and where the library had called it. */
export type EmbedderErrorHook = (error: unknown, where: EmbedderCallSite) => void;

/** The last contained error, as {@link lastEmbedderError} returns it. */
export interface EmbedderErrorRecord {
  /** What the embedder code threw. */
  readonly error: unknown;
  /** Where the library had called it. */
  readonly where: EmbedderCallSite;
}

let hook: EmbedderErrorHook | null = null;
let last: EmbedderErrorRecord | null = null;
let warned = false;

/**
 * Installs the process-wide embedder error hook (null: back to the default) and returns the previous
 * one. The default keeps the last error (see {@link lastEmbedderError}) and writes the first one of
 * the process to `console.error`, once. A hook that throws is ignored (its error is dropped).
 */
export function setEmbedderErrorHook(next: EmbedderErrorHook | null): EmbedderErrorHook | null {
  const prev = hook;
  hook = next;
  return prev;
}

/** The last error embedder code threw at the library (kept whether or not a hook is installed), or null. */
export function lastEmbedderError(): EmbedderErrorRecord | null {
  return last;
}

/** Forgets the last error (tests, or an embedder that has handled it). */
export function clearLastEmbedderError(): void {
  last = null;
}

/**
 * Reports `error`, thrown by embedder code the library called at `where`: kept as the last error, then
 * given to the installed hook, or — with none — written to `console.error` if it is the first of the
 * process. Never throws.
 */
export function reportEmbedderError(error: unknown, where: EmbedderCallSite): void {
  last = { error, where };
  const h = hook;
  if (h !== null) {
    try {
      h(error, where);
    } catch {
      // A throwing hook must not undo the containment it is told about.
    }
    return;
  }
  if (warned) return;
  warned = true;
  try {
    console.error(`vidxd: embedder code threw at ${where} (contained; later ones are kept in lastEmbedderError() only, or install setEmbedderErrorHook)`, error);
  } catch {
    // console itself may be unusable; the error is kept all the same.
  }
}
