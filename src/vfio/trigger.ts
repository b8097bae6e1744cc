/**
 * Interrupt triggers: what SET_IRQS EVENTFD installs per vector and what the device signals
 * (`vfio-uapi.md` §5.2). A trigger is an eventfd-like object with `signal()` or a plain callback.
 */

/** An eventfd-like object: each `signal()` adds one to its counter. */
export interface Signalable {
  /** Raise the interrupt once. */
  signal(): void;
}

/** What can be installed on a vector: an eventfd-like object or a callback run on each interrupt. */
export type IrqTrigger = Signalable | (() => void);

/**
 * What an ioctl-style front end puts in a trigger slot for a handle it could not resolve (a closed or
 * unknown handle, or a negative one other than −1). SET_IRQS answers EBADF for it, after every EINVAL
 * and ENOTTY check, and changes nothing.
 */
export class UnresolvedHandle {
  /** Builds the marker for `handle`. */
  constructor(readonly handle: number) {}
}

/** One slot of SET_IRQS EVENTFD data: a trigger, `null` to de-assign (the −1 of the C API), or an unresolved handle. */
export type TriggerSlot = IrqTrigger | null | UnresolvedHandle;

/** True when `value` can be installed as a trigger. */
export function isIrqTrigger(value: unknown): value is IrqTrigger {
  if (typeof value === 'function') return true;
  if (typeof value !== 'object' || value === null) return false;
  try {
    return typeof (value as { signal?: unknown }).signal === 'function';
  } catch {
    // A `signal` getter that throws: not something an interrupt can be delivered to.
    return false;
  }
}

/** Signals a trigger once. */
export function fireTrigger(trigger: IrqTrigger): void {
  if (typeof trigger === 'function') trigger();
  else trigger.signal();
}

/**
 * An eventfd in counter mode: `signal()` adds one, `read()` returns the count and resets it to zero
 * (a non-blocking eventfd read; 0 when nothing was signalled).
 */
export class EventFd implements Signalable {
  private counter = 0;

  /** Adds `n` (default 1) to the counter, as a write of `n` to an eventfd. */
  signal(n = 1): void {
    this.counter += n;
  }

  /** The current count, without resetting it. */
  get count(): number {
    return this.counter;
  }

  /** Returns the count and resets it to zero. */
  read(): number {
    const n = this.counter;
    this.counter = 0;
    return n;
  }
}
