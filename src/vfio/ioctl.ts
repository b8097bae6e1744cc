/**
 * An `ioctl(request, argBytes)` front end over a {@link VfioDevice}: VFIO_DEVICE_GET_INFO,
 * GET_REGION_INFO, GET_IRQ_INFO, SET_IRQS, RESET and DEVICE_FEATURE on the device (ENOTTY for anything
 * else) and VFIO_MIG_GET_PRECOPY_INFO on a stream handle, byte-compatible with the kernel, so an
 * out-of-process transport can reuse it. `arg` is the caller's buffer, read and written in place;
 * a buffer shorter than the bytes the call must touch is EFAULT.
 */
import {
  VFIO_DEVICE_FEATURE,
  VFIO_DEVICE_GET_INFO,
  VFIO_DEVICE_GET_IRQ_INFO,
  VFIO_DEVICE_GET_REGION_INFO,
  VFIO_DEVICE_RESET,
  VFIO_DEVICE_SET_IRQS,
  VFIO_IRQ_SET_DATA_BOOL,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_MIG_GET_PRECOPY_INFO,
} from './constants.js';
import { decodeDeviceInfo, encodeDeviceInfo } from './codec/device-info.js';
import { VFIO_DEVICE_FEATURE_MINSZ, decodePrecopyInfo, encodePrecopyInfo } from './codec/feature.js';
import { decodeIrqInfo, encodeIrqInfo } from './codec/irq-info.js';
import { VFIO_IRQ_SET_MINSZ, decodeIrqHandles, decodeIrqSet } from './codec/irq-set.js';
import { encodeRegionInfo } from './codec/region-info.js';
import { needBytes, viewOf } from './codec/bytes.js';
import type { UserMemory, VfioDevice } from './device.js';
import { VfioError } from './errors.js';
import { HandleTable } from './handles.js';
import { VfioMigrationStream } from './migration-stream.js';
import { isIrqTrigger, UnresolvedHandle, type TriggerSlot } from './trigger.js';

/** No user memory: every DMA logging pointer is EFAULT. */
const NO_USER_MEMORY: UserMemory = () => null;

function write(arg: Uint8Array, out: Uint8Array, what: string): void {
  needBytes(arg, out.length, what);
  arg.set(out, 0);
}

/** The ioctl-style front end of one device handle. */
export class VfioIoctl<M = unknown> {
  /**
   * Wraps `device`. `handles` is the table SET_IRQS EVENTFD handles are resolved through (put
   * triggers in it with `add`) and where MIG_DEVICE_STATE SET stores new streams. `user` resolves the
   * user pointers of DMA logging START (`ranges`) and REPORT (`bitmap`); without it they are EFAULT.
   */
  constructor(
    readonly device: VfioDevice<M>,
    readonly handles: HandleTable = new HandleTable(),
    private readonly user?: UserMemory,
  ) {}

  /** Runs one device ioctl on `arg` (in/out); returns 0 (the ioctl's return value). */
  ioctl(request: number, arg: Uint8Array = new Uint8Array(0)): number {
    if (this.device.closed) throw new VfioError('EBADF', 'the device handle is closed');
    // A null argument is the C API's NULL pointer: every request that reads or writes it faults (EFAULT).
    if (arg === null) arg = new Uint8Array(0);
    else if (!(arg instanceof Uint8Array)) throw new VfioError('EFAULT', 'ioctl: the argument is not a byte buffer');
    switch (request) {
      case VFIO_DEVICE_GET_INFO: {
        const { argsz } = decodeDeviceInfo(arg);
        write(arg, encodeDeviceInfo(this.device.getInfo(), argsz), 'GET_INFO');
        return 0;
      }
      case VFIO_DEVICE_GET_REGION_INFO: {
        needBytes(arg, 32, 'vfio_region_info');
        const argsz = viewOf(arg).getUint32(0, true);
        const index = viewOf(arg).getUint32(8, true);
        if (argsz < 32) throw new VfioError('EINVAL', `GET_REGION_INFO: argsz ${argsz} < 32`);
        write(arg, encodeRegionInfo(this.device.getRegionInfo(index), argsz, 'ioctl'), 'GET_REGION_INFO');
        return 0;
      }
      case VFIO_DEVICE_GET_IRQ_INFO: {
        const { argsz, index } = decodeIrqInfo(arg);
        if (argsz < 16) throw new VfioError('EINVAL', `GET_IRQ_INFO: argsz ${argsz} < 16`);
        write(arg, encodeIrqInfo(this.device.getIrqInfo(index), argsz), 'GET_IRQ_INFO');
        return 0;
      }
      case VFIO_DEVICE_SET_IRQS:
        this.setIrqs(arg);
        return 0;
      case VFIO_DEVICE_RESET:
        this.device.reset();
        return 0;
      case VFIO_DEVICE_FEATURE:
        this.feature(arg);
        return 0;
      default:
        throw new VfioError('ENOTTY', `ioctl 0x${request.toString(16)} is not a device ioctl`);
    }
  }

  /** Runs an ioctl on a migration stream handle: VFIO_MIG_GET_PRECOPY_INFO (ENOTTY otherwise). */
  streamIoctl(handle: number, request: number, arg: Uint8Array): number {
    const stream = this.handles.get(handle);
    if (!(stream instanceof VfioMigrationStream)) throw new VfioError('EBADF', `handle ${handle} is not a migration stream`);
    if (request !== VFIO_MIG_GET_PRECOPY_INFO) throw new VfioError('ENOTTY', `ioctl 0x${request.toString(16)} is not a stream ioctl`);
    const { argsz } = decodePrecopyInfo(arg);
    const info = encodePrecopyInfo(stream.precopyInfo(), argsz);
    write(arg, info, 'PRECOPY_INFO');
    return 0;
  }

  private setIrqs(arg: Uint8Array): void {
    const s = decodeIrqSet(arg);
    // Check 1, ioctl form.
    if (s.argsz < VFIO_IRQ_SET_MINSZ) throw new VfioError('EINVAL', `SET_IRQS: argsz ${s.argsz} < 20 (check 1)`);
    const avail = s.argsz - VFIO_IRQ_SET_MINSZ;
    let data: Uint8Array | TriggerSlot[] | undefined;
    if ((s.flags & VFIO_IRQ_SET_DATA_BOOL) !== 0) {
      // Check 3, ioctl form (argsz − 20 < count): a short payload fails the object check in order.
      if (avail >= s.count) {
        needBytes(arg, VFIO_IRQ_SET_MINSZ + s.count, 'SET_IRQS bool data');
        data = s.payload.subarray(0, s.count);
      } else data = s.payload.subarray(0, avail);
    } else if ((s.flags & VFIO_IRQ_SET_DATA_EVENTFD) !== 0) {
      // Check 14, ioctl form (argsz − 20 < 4·count): no slots fails the object check in order.
      data = avail >= 4 * s.count ? decodeIrqHandles(s.payload, s.count).map((h) => this.resolve(h)) : [];
    }
    this.device.setIrqs({ flags: s.flags, index: s.index, start: s.start, count: s.count, ...(data ? { data } : {}) });
  }

  private resolve(handle: number): TriggerSlot {
    if (handle === -1) return null;
    const t = this.handles.get(handle);
    return isIrqTrigger(t) ? t : new UnresolvedHandle(handle);
  }

  private feature(arg: Uint8Array): void {
    needBytes(arg, VFIO_DEVICE_FEATURE_MINSZ, 'vfio_device_feature');
    const v = viewOf(arg);
    const argsz = v.getUint32(0, true);
    const flags = v.getUint32(4, true);
    if (argsz < VFIO_DEVICE_FEATURE_MINSZ) throw new VfioError('EINVAL', `DEVICE_FEATURE: argsz ${argsz} < 8`);
    needBytes(arg, argsz, 'DEVICE_FEATURE data');
    const stream = this.device.feature(flags, arg.subarray(VFIO_DEVICE_FEATURE_MINSZ, argsz), this.user ?? NO_USER_MEMORY);
    if (stream !== null) v.setInt32(VFIO_DEVICE_FEATURE_MINSZ + 4, this.handles.add(stream), true);
  }
}
