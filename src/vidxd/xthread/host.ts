/**
 * The device thread's side of a guest in another thread: it serves the guest's VFIO calls (config
 * space, BAR0, SET_IRQS, mmap — the trapped control path) arriving on a MessagePort, and turns each
 * mapped portal page into a cross-thread portal ring ({@link SharedPortalSet}) the guest submits to
 * without calling here. The rings are drained when the embedder polls (deterministic mode) or by a
 * loop woken with `Atomics.waitAsync` on their doorbells (automatic mode).
 *
 * Ordering: before serving a control call the rings are drained, so a descriptor a guest thread
 * submitted before a BAR0 write (a DRAIN_WQ, a DISABLE_WQ) reaches the WQ before the command runs,
 * as a CPU's posted portal writes precede its later MMIO writes; after it, credits and states are
 * published again (a command that disabled the WQ turns the ring off before the guest's next call).
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Portal, type SharedPortalRing, SharedPortalSet } from '../../dsa/index.js';
import { boundPortalOf, VdevPortalMapping } from '../portals.js';
import {
  answerBlockingCall, type DeviceInfo, type IrqInfo, type IrqSetRequest, type RegionInfo, type TriggerSlot, VFIO_IRQ_SET_DATA_EVENTFD, VfioError,
} from '../../vfio/index.js';

/** What the host needs of the device it serves (a `VfioDevice` of a vdev has it all). */
export interface XthreadServedDevice {
  /** VFIO_DEVICE_GET_INFO. */
  getInfo(): DeviceInfo;
  /** VFIO_DEVICE_GET_REGION_INFO. */
  getRegionInfo(index: number): RegionInfo;
  /** VFIO_DEVICE_GET_IRQ_INFO. */
  getIrqInfo(index: number): IrqInfo;
  /** VFIO_DEVICE_SET_IRQS. */
  setIrqs(req: IrqSetRequest): void;
  /** `pread` of a region. */
  readRegion(index: number, offset: number, buf: Uint8Array): number;
  /** `pwrite` of a region. */
  writeRegion(index: number, offset: number, buf: Uint8Array): number;
  /** `mmap` at a region-encoded position: a portal page's bound {@link Portal}. */
  mmap(pos: number, length: number, shared?: boolean): unknown;
  /** The handle was closed (its rings die). */
  readonly closed: boolean;
}

/** What a guest thread needs to reach the host (pass it in `workerData` with {@link XthreadDeviceHost.transfer}). */
export interface XthreadLink {
  /** Calls and answers. */
  readonly port: MessagePort;
  /** Interrupts: `[index, vector]` messages. */
  readonly irqPort: MessagePort;
  /** The wake-up word of the calls (index 0): the sequence number of the last call answered. */
  readonly flag: Int32Array;
}

/** One call of the guest. */
export interface XthreadCall {
  /** The method. */
  readonly op: string;
  /** Its arguments (structured-clonable). */
  readonly args: readonly unknown[];
  /** The call's sequence number (see `BlockingCaller`). */
  readonly seq: number;
}

/** One answer. */
export type XthreadAnswer = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly code: string; readonly message: string };

/** How the host runs. */
export interface XthreadHostOptions {
  /** The open device (a vdev's `VfioDevice`). */
  readonly device: XthreadServedDevice;
  /** One deterministic step of the device model (e.g. `() => dsa.step()`); returns whether it ran something. */
  readonly step: () => boolean;
  /**
   * Automatic mode's run of at most `max` descriptors (e.g. `(max) => dsa.runUntilIdle(max)`; default:
   * {@link step} until false or `max`). The loop runs in chunks and publishes between them, so a guest
   * gets its credits and completions back while the device is still busy.
   */
  readonly runUntilIdle?: (max: number) => number;
  /** Descriptors per chunk of the automatic loop (default 32). */
  readonly chunk?: number;
  /** Automatic mode: milliseconds without work the loop keeps polling before it sleeps on the doorbells (default 0.05). */
  readonly spinMs?: number;
  /** Ring slots (a power of two; default 256, doubled up to the WQ's capacity). */
  readonly slots?: number;
  /**
   * The ring set to add this device's rings to: give every host of one device thread the same set, so
   * the rings of vdevs sharing a WQ split its credits (default: a set of this host's own).
   */
  readonly rings?: SharedPortalSet;
  /**
   * The VMM's own calls a guest thread may make ({@link XthreadGuestDevice.request}), e.g. mapping a
   * page the guest faulted on; arguments and results must be structured-clonable.
   */
  readonly calls?: Readonly<Record<string, (...args: unknown[]) => unknown>>;
}

/**
 * The bound portal of what `mmap` of a portal page returned: a vdev's mapping (its policy applies to
 * every drained slot), or a device model's own `Portal`; null for anything else.
 */
function portalOf(v: unknown): Portal | null {
  if (v instanceof VdevPortalMapping) return boundPortalOf(v);
  if (v instanceof Portal) return v;
  return null;
}

/** Serves one guest thread's device: control calls on a port, data path through shared rings. */
export class XthreadDeviceHost {
  /** The cross-thread portal rings of the mapped pages. */
  readonly rings: SharedPortalSet;
  private readonly o: XthreadHostOptions;
  private readonly port: MessagePort;
  private readonly irqPort: MessagePort;
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private readonly remote: XthreadLink;
  private running = false;
  private nudge: (() => void) | null = null;
  private isClosed = false;
  private readonly own: SharedPortalRing[] = [];

  /** A host for `options.device`; hand {@link link} (with {@link transfer}) to the guest thread. */
  constructor(options: XthreadHostOptions) {
    this.o = options;
    this.rings = options.rings ?? new SharedPortalSet(options.slots);
    const calls = new MessageChannel();
    const irqs = new MessageChannel();
    this.port = calls.port1;
    this.irqPort = irqs.port1;
    this.remote = { port: calls.port2, irqPort: irqs.port2, flag: this.flag };
    this.port.on('message', (m: XthreadCall) => this.serve(m));
  }

  /** What the guest thread needs (transfer its ports: {@link transfer}). */
  get link(): XthreadLink {
    return this.remote;
  }

  /** The transfer list of {@link link}. */
  get transfer(): MessagePort[] {
    return [this.remote.port, this.remote.irqPort];
  }

  private serve(m: XthreadCall): void {
    let a: XthreadAnswer;
    try {
      this.rings.drain();
      a = { ok: true, value: this.call(m.op, m.args) };
    } catch (e) {
      a = e instanceof VfioError ? { ok: false, code: e.code, message: e.message } : { ok: false, code: 'EIO', message: e instanceof Error ? e.message : String(e) };
    }
    this.publish();
    answerBlockingCall(this.port, this.flag, m.seq, a);
    this.nudge?.();
  }

  private call(op: string, args: readonly unknown[]): unknown {
    const d = this.o.device;
    switch (op) {
      case 'getInfo': return d.getInfo();
      case 'getRegionInfo': return d.getRegionInfo(args[0] as number);
      case 'getIrqInfo': return d.getIrqInfo(args[0] as number);
      case 'readRegion': {
        const buf = new Uint8Array(args[2] as number);
        const n = d.readRegion(args[0] as number, args[1] as number, buf);
        return { n, bytes: buf };
      }
      case 'writeRegion': return d.writeRegion(args[0] as number, args[1] as number, args[2] as Uint8Array);
      case 'setIrqs': return this.setIrqs(args[0] as IrqSetRequest & { readonly slots?: readonly boolean[] });
      case 'mmap': {
        const p = portalOf(d.mmap(args[0] as number, args[1] as number, true));
        if (p === null) throw new VfioError('EINVAL', 'only portal pages can be mapped across threads');
        const r = this.rings.add(p);
        this.own.push(r);
        return r.buffer;
      }
      case 'unmap': {
        const i = this.own.findIndex((x) => x.buffer === args[0]);
        if (i >= 0) this.rings.remove(this.own.splice(i, 1)[0] as SharedPortalRing);
        return 0;
      }
      case 'poll': return this.poll();
      case 'request': {
        const fn = this.o.calls?.[args[0] as string];
        if (fn === undefined) throw new VfioError('ENOTTY', `no VMM call ${String(args[0])}`);
        return fn(...(args[1] as unknown[]));
      }
      default: throw new VfioError('ENOTTY', `unknown cross-thread call ${op}`);
    }
  }

  /** SET_IRQS with eventfd slots marked true/false by the guest: true installs a trigger that posts to the guest thread. */
  private setIrqs(req: IrqSetRequest & { readonly slots?: readonly boolean[] }): number {
    if ((req.flags & VFIO_IRQ_SET_DATA_EVENTFD) === 0 || req.slots === undefined) {
      this.o.device.setIrqs(req);
      return 0;
    }
    const data: TriggerSlot[] = req.slots.map((on, i) => (on ? () => this.irqPort.postMessage([req.index, req.start + i]) : null));
    this.o.device.setIrqs({ flags: req.flags, index: req.index, start: req.start, count: req.count, data });
    return 0;
  }

  /** Publishes the rings (and kills them all once the device handle is closed). */
  private publish(): boolean {
    if (this.o.device.closed && this.own.length !== 0) this.killOwn();
    return this.rings.publish();
  }

  private killOwn(): void {
    for (const r of this.own.splice(0)) this.rings.remove(r);
  }

  /** One deterministic round: drain the rings, one device step, publish; whether anything happened. */
  poll(): boolean {
    const drained = this.rings.drain();
    const ran = this.o.step();
    const moved = this.publish();
    return drained !== 0 || ran || moved;
  }

  /** Rounds (drain, run, publish) until nothing happens (at most `max`); returns how many did something. */
  runUntilIdle(max = Number.POSITIVE_INFINITY): number {
    let n = 0;
    while (n < max && this.round(Number.POSITIVE_INFINITY)) n++;
    return n;
  }

  /** Drain, run at most `max` descriptors, publish. */
  private round(max: number): boolean {
    const drained = this.rings.drain();
    let ran = 0;
    if (this.o.runUntilIdle !== undefined) ran = this.o.runUntilIdle(max);
    else while (ran < max && this.o.step()) ran++;
    const moved = this.publish();
    return drained !== 0 || ran !== 0 || moved;
  }

  /**
   * Automatic mode: drains and runs whenever a guest thread submits, sleeping on the rings' doorbells
   * (`Atomics.waitAsync`) in between; the event loop keeps serving control calls.
   */
  start(): void {
    if (this.running || this.isClosed) return;
    this.running = true;
    void this.loop();
  }

  /** Leaves automatic mode (after the current round). */
  stop(): void {
    this.running = false;
    this.nudge?.();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      // Busy: rounds back to back for up to a few milliseconds, then a turn of the event loop (control
      // calls); idle for `spinMs`: sleep on the doorbells.
      const chunk = this.o.chunk ?? 32;
      const spin = this.o.spinMs ?? 0.05;
      const start = performance.now();
      let lastWork = start;
      let idle = false;
      for (let k = 0; ; k++) {
        if (this.round(chunk)) lastWork = -1;
        if ((k & 63) === 63) {
          const now = performance.now();
          if (lastWork < 0) lastWork = now;
          else if (now - lastWork >= spin) {
            idle = true;
            break;
          }
          if (now - start >= 4) break;
        }
      }
      if (!this.running) break;
      if (!idle) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      const rings = this.rings.rings;
      const bells = rings.map((r) => r.armSleep());
      if (this.rings.pending()) {
        for (const r of rings) r.wake();
        continue;
      }
      const waits: Promise<unknown>[] = [];
      let rang = false;
      rings.forEach((r, i) => {
        const w = r.waitDoorbell(bells[i] as number, 1000);
        // null: the doorbell already moved (a submitter rang between the arming and the wait).
        if (w === null) rang = true;
        else waits.push(w);
      });
      if (!rang) {
        waits.push(new Promise<void>((resolve) => { this.nudge = resolve; }));
        await Promise.race(waits);
      }
      this.nudge = null;
      for (const r of rings) r.wake();
    }
  }

  /** Stops, kills every ring (guest submissions are then ignored or retried) and closes the ports. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.stop();
    this.killOwn();
    this.port.close();
    this.irqPort.close();
  }

  /** The rings of this host's mapped portal pages. */
  get mapped(): readonly SharedPortalRing[] {
    return this.own;
  }
}
