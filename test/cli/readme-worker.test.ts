/**
 * The README's Worker example: its device-thread lines are part of readme-worker-example.ts (the
 * README's VMM example with a SharedArrayBuffer as guest memory), its worker is readme-worker-app.mjs,
 * and it runs: the worker fills the source in the shared buffer, the device copies it, and the worker
 * sees the copy.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const EXAMPLE = readFileSync(new URL('./readme-worker-example.ts', import.meta.url), 'utf8');
const APP = readFileSync(new URL('./readme-worker-app.mjs', import.meta.url), 'utf8');

describe('the README Worker example', () => {
  it('shows lines of readme-worker-example.ts and the whole of readme-worker-app.mjs', () => {
    const main = /```ts\n(\/\/ Device thread:[\s\S]*?)```/.exec(README)?.[1];
    const worker = /```js\n(\/\/ An application thread:[\s\S]*?)```/.exec(README)?.[1];
    expect(main).toBeDefined();
    expect(EXAMPLE).toContain(main);
    expect(worker).toBe(APP);
    expect(README).toContain('new GuestMemory(1 << 20, true)');
    expect(EXAMPLE).toContain('new GuestMemory(1 << 20, true)');
  });

  it('runs: the worker fills the source in the shared memory, the vdev copies it, the worker sees the copy', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await import('./readme-worker-example.js');
      await vi.waitFor(() => expect(log).toHaveBeenCalledWith('status 1, dst[4095] = 0x5a'), { timeout: 10_000 });
    } finally {
      log.mockRestore();
    }
  });
});
