/**
 * One client at a time and the disconnect rule of `vfio-uapi.md` §11.1: a second client is refused
 * cleanly; when a client goes, every DMA map and trigger goes with it, the device keeps its state, and
 * the next client attaches — in each transport mode this machine has.
 */
import { describe, expect, it } from 'vitest';
import { VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_DATA_EVENTFD, VfioIoas } from '../../src/vfio/index.js';
import { loadNative, VfioUserClient } from '../../src/vfio-user/index.js';
import { serveVdev } from './wire.js';
import { elem } from '../util/bytes.js';

const modes = loadNative() === null ? (['net'] as const) : (['net', 'fd'] as const);
/** Maps without an fd reach the IOAS only where remote memory exists (`VfioIoas.mapRemote`). */
const remote = typeof (VfioIoas.prototype as unknown as { mapRemote?: unknown }).mapRemote === 'function' ? 1 : 0;

const settle = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
};

for (const mode of modes) {
  describe(`sessions (${mode} mode)`, () => {
    it('refuses a second client while one is connected, and keeps serving the first', async () => {
      const s = await serveVdev(mode);
      const a = await VfioUserClient.connect(s.path, { transport: mode });
      await expect(VfioUserClient.connect(s.path, { transport: mode })).rejects.toThrow();
      expect((await a.getInfo()).numRegions).toBe(9);
      expect(s.events.some((e) => e.kind === 'refuse')).toBe(true);
      await a.close();
      await s.server.close();
    });

    it('drops every map and trigger on disconnect, keeps the device state, and serves the next client', async () => {
      const s = await serveVdev(mode);
      const a = await VfioUserClient.connect(s.path, { transport: mode });
      const mem = a.allocMemory(0x10000);
      await a.dmaMap({ iova: 0x100000, size: 0x10000, memory: mem, offset: 0, flags: 3 });
      await a.dmaMap({ iova: 0x200000, size: 0x1000, memory: mem, offset: 0, flags: 1, noFd: true });
      let fired = 0;
      await a.setIrqs({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: 2, start: 0, count: 2, data: [() => fired++, () => fired++] });
      // Device state a guest would leave: memory and bus-master enable in COMMAND.
      await a.writeRegion(7, 4, new Uint8Array([0x06, 0x00]));
      expect(s.device.irqStatus(2).enabled).toBe(true);
      expect(s.server.ioas.count).toBe((mode === 'fd' ? 1 : remote) + remote);
      await a.close();
      await settle(() => !s.server.connected);
      expect(s.server.ioas.count).toBe(0);
      expect(s.device.irqStatus(2)).toMatchObject({ enabled: false, triggers: [null, null] });
      expect(s.events.some((e) => e.kind === 'disconnect' && e.message.includes('2 DMA map(s) dropped'))).toBe(true);
      const b = await VfioUserClient.connect(s.path, { transport: mode });
      const cmd = new Uint8Array(2);
      await b.readRegion(7, 4, cmd);
      expect(elem(cmd, 0) & 0x06).toBe(0x06);
      // The old maps are gone: the same range maps again.
      await b.dmaMap({ iova: 0x100000, size: 0x10000, memory: b.allocMemory(0x10000), offset: 0, flags: 3 });
      await b.close();
      await s.server.close();
      expect(fired).toBe(0);
    });

    it('a client sees the server going away: pending and later calls fail with ENODEV', async () => {
      const s = await serveVdev(mode);
      let why = '';
      const a = await VfioUserClient.connect(s.path, { transport: mode, onDisconnect: (r) => { why = r; } });
      await s.server.close();
      await settle(() => a.closed);
      expect(why).not.toBe('');
      await expect(a.getInfo()).rejects.toMatchObject({ code: 'ENODEV' });
    });
  });
}
