/**
 * How the reference driver is set up: the options of `IdxdGuest.open` and the shapes its hooks see.
 */
import type { GuestVfio } from './io.js';
import type { SoftwareErrorReport } from './swerr.js';

/** A page fault the driver asks the fault hook to resolve. */
export interface PageFault {
  /** The operation (`memmove`, …, `batch`). */
  readonly op: string;
  /** Faulting IOVA (its low 12 bits may read 0). */
  readonly address: number;
  /** The faulting access was a write. */
  readonly write: boolean;
  /** The completion status byte (0x03/0x04, +0x80 for a write; 0x06 for a batch list). */
  readonly status: number;
  /** Bytes of the operation done so far (descriptors, for a batch list). */
  readonly bytesCompleted: number;
}

/** The guest's memory as the driver sees it (a `GuestMemory` fits). */
export interface GuestRam {
  /** Every byte of it. */
  readonly bytes: Uint8Array;
}

/** How the driver runs. */
export interface IdxdGuestOptions {
  /** The open device (a `VfioDevice`, or anything with the same calls). */
  readonly device: GuestVfio;
  /** The guest's memory. */
  readonly memory: GuestRam;
  /** The IOVA at which the VMM mapped `memory.bytes[0]` (default 0). */
  readonly iova?: number;
  /** The IOVA range the driver's allocator manages (default: all of the memory). */
  readonly heap?: { readonly iova: number; readonly size: number };
  /** Submit through the mapped portal page (default) or through trapped BAR2 writes. */
  readonly portal?: 'mapped' | 'trapped';
  /** Completion by interrupt (default when the device has a completion vector) or by polling the record. */
  readonly completion?: 'interrupt' | 'poll';
  /** MSI-X triggers the driver installs: callbacks run at delivery (default), or EventFds it reads while it waits. */
  readonly triggers?: 'callback' | 'eventfd';
  /**
   * The VMM's progress hook, the driver's `cpu_relax()`: lets the device model run (a deterministic
   * model is stepped here) and returns true when something happened, false when the device is idle.
   * Without it the device must run by itself (automatic mode).
   */
  readonly poll?: (() => boolean) | undefined;
  /** Guest PASID of a shared WQ, or of a dedicated WQ with `pasidEnabled` (default 1). */
  readonly pasid?: number;
  /** Dedicated WQ: program WQCFG.pasid_en (default false: the device's default address space). */
  readonly pasidEnabled?: boolean;
  /** ENQCMD retries before an operation fails with EAGAIN (default 64). */
  readonly retries?: number;
  /** At most this many descriptors in flight (default and maximum: the WQ size). */
  readonly maxInFlight?: number;
  /** Resolves a page fault (the guest "touches the page"); true → the rest of the operation is submitted. */
  readonly onPageFault?: ((fault: PageFault) => boolean | Promise<boolean>) | undefined;
  /** Told about every software error the device logs (SWERR). */
  readonly onError?: (report: SoftwareErrorReport) => void;
  /**
   * Waits (turns of the event loop) before a wait without a poll hook gives up with ETIMEDOUT
   * (default 2000, about two seconds): for the record when polling, for the completion interrupt
   * otherwise. The error says to pass `poll`: a deterministic model nobody steps never completes.
   */
  readonly pollLimit?: number;
  /**
   * Interrupt completion: turns of the event loop the driver still waits for a completion interrupt
   * after it has found the record written (default 64; with a poll hook, counted from when the hook
   * reports the device idle). Then the operation rejects with an `IdxdLostInterruptError`.
   */
  readonly lostInterruptAfter?: number;
}

/** Which of the two idxd WQ modes the device has. */
export type GuestWqMode = 'dedicated' | 'shared';
