import { VfioError } from '../../src/vfio/index.js';

/**
 * Runs `f` and returns the errno name of the `VfioError` it threw, `undefined` when it did not throw,
 * or `'not a VfioError'` when it threw anything else — so a test can assert the exact errno in one line.
 */
export function errnoOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof VfioError ? e.code : 'not a VfioError';
  }
  return undefined;
}
