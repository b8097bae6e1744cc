/**
 * The guest thread's side: a device with the VFIO calls the reference driver makes (`GuestVfio`),
 * each control call posted to the device thread and waited for (a `BlockingCaller`: `Atomics.wait`, the
 * answer picked up with `receiveMessageOnPort`), and `mmap` of a portal page returning a {@link SharedPortal} — the
 * data path, on which nothing is posted to the device thread. Interrupts arrive as messages and fire
 * the triggers installed with SET_IRQS (callbacks, or `EventFd`s the driver reads), delivered at every
 * call and poll and whenever the thread's event loop runs.
 */
import { receiveMessageOnPort } from 'node:worker_threads';
import { SharedPortal } from '../../dsa/index.js';
import {
  BlockingCaller, type BlockingCallSeq, type DeviceInfo, fireTrigger, type IrqInfo, type IrqSetRequest, type IrqTrigger, type RegionInfo, VFIO_IRQ_SET_DATA_EVENTFD, VfioError,
} from '../../vfio/index.js';
import type { XthreadAnswer, XthreadCall, XthreadHostOptions, XthreadLink } from './host.js';

type ErrnoCode = ConstructorParameters<typeof VfioError>[0];

/** A device served by an {@link XthreadDeviceHost} in another thread. */
export class XthreadGuestDevice {
  /** The portals mapped so far. */
  readonly portals: SharedPortal[] = [];
  private readonly link: XthreadLink;
  private readonly triggers = new Map<string, IrqTrigger>();
  private readonly caller: BlockingCaller;

  /** The device behind `link` (from the device thread's {@link XthreadDeviceHost.link}). */
  constructor(link: XthreadLink, options: { readonly timeoutMs?: number } = {}) {
    this.link = link;
    this.caller = new BlockingCaller(link.port, () => receiveMessageOnPort(link.port), link.flag, options.timeoutMs ?? 30_000);
    link.irqPort.on('message', (m: [number, number]) => this.fire(m));
    link.irqPort.unref();
  }

  private fire([index, vector]: [number, number]): void {
    const t = this.triggers.get(`${index}:${vector}`);
    if (t !== undefined) fireTrigger(t);
  }

  /** Delivers the interrupts that arrived (called at every call and poll). */
  serviceIrqs(): void {
    for (;;) {
      const m = receiveMessageOnPort(this.link.irqPort);
      if (m === undefined) return;
      this.fire(m.message as [number, number]);
    }
  }

  private call(op: string, ...args: unknown[]): unknown {
    const a = this.caller.call<XthreadAnswer & BlockingCallSeq>({ op, args } satisfies Omit<XthreadCall, 'seq'>, `the device thread's ${op}`);
    this.serviceIrqs();
    if (!a.ok) throw new VfioError(a.code as ErrnoCode, a.message.replace(/^[A-Z]+: /, ''));
    return a.value;
  }

  /** VFIO_DEVICE_GET_INFO. */
  getInfo(): DeviceInfo {
    return this.call('getInfo') as DeviceInfo;
  }

  /** VFIO_DEVICE_GET_REGION_INFO. */
  getRegionInfo(index: number): RegionInfo {
    return this.call('getRegionInfo', index) as RegionInfo;
  }

  /** VFIO_DEVICE_GET_IRQ_INFO. */
  getIrqInfo(index: number): IrqInfo {
    return this.call('getIrqInfo', index) as IrqInfo;
  }

  /** VFIO_DEVICE_SET_IRQS: eventfd data keeps the triggers here and has the device thread post their interrupts. */
  setIrqs(req: IrqSetRequest): void {
    if ((req.flags & VFIO_IRQ_SET_DATA_EVENTFD) !== 0 && Array.isArray(req.data)) {
      const slots = (req.data as readonly unknown[]).map((t) => typeof t === 'function' || (typeof t === 'object' && t !== null && typeof (t as { signal?: unknown }).signal === 'function'));
      this.call('setIrqs', { flags: req.flags, index: req.index, start: req.start, count: req.count, slots });
      (req.data as readonly unknown[]).forEach((t, i) => {
        const key = `${req.index}:${req.start + i}`;
        if (slots[i] === true) this.triggers.set(key, t as IrqTrigger);
        else this.triggers.delete(key);
      });
      return;
    }
    const data = req.data instanceof Uint8Array ? req.data.slice() : undefined;
    this.call('setIrqs', data === undefined ? { flags: req.flags, index: req.index, start: req.start, count: req.count } : { ...req, data });
  }

  /** `pread` of a region. */
  readRegion(index: number, offset: number, buf: Uint8Array): number {
    const r = this.call('readRegion', index, offset, buf.length) as { n: number; bytes: Uint8Array };
    buf.set(r.bytes.subarray(0, buf.length));
    return r.n;
  }

  /** `pwrite` of a region. */
  writeRegion(index: number, offset: number, buf: Uint8Array): number {
    return this.call('writeRegion', index, offset, buf.slice()) as number;
  }

  /** `mmap` of a portal page: a cross-thread portal on the ring the device thread made for it. */
  mmap(pos: number, length: number, _shared = true): SharedPortal {
    const p = new SharedPortal(this.call('mmap', pos, length) as SharedArrayBuffer);
    this.portals.push(p);
    return p;
  }

  /** `munmap`: the ring is torn down (submissions through `portal` are then ignored or retried). */
  unmap(portal: SharedPortal): void {
    this.call('unmap', portal.buffer);
    const i = this.portals.indexOf(portal);
    if (i >= 0) this.portals.splice(i, 1);
  }

  /**
   * Deterministic mode's `cpu_relax`: asks the device thread for one round (drain the rings, one
   * device step, publish); returns whether anything happened. Pass it as the driver's `poll` option.
   */
  poll(): boolean {
    return this.call('poll') as boolean;
  }

  /**
   * Automatic mode's `cpu_relax`: waits (`Atomics.wait`) up to `timeoutMs` for a mapped portal's
   * completion counter to move; returns whether it did (interrupts are delivered first).
   */
  relax(timeoutMs = 20): boolean {
    this.serviceIrqs();
    const p = this.portals[0];
    if (p === undefined) return false;
    const before = p.completed;
    p.waitCompleted((before + 1) | 0, timeoutMs);
    this.serviceIrqs();
    return p.completed !== before;
  }

  /** One of the VMM's own calls ({@link XthreadHostOptions.calls}) on the device thread. */
  request(name: string, ...args: unknown[]): unknown {
    return this.call('request', name, args);
  }

  /** Closes the ports (the device thread's host keeps the device; it is closed there). */
  close(): void {
    this.link.port.close();
    this.link.irqPort.close();
  }
}
