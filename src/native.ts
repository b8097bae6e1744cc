/**
 * The loader of vidxd's optional native addon: two small binaries built by node-gyp at install from
 * `src/vfio-user/native/` (see its `install.mjs`), `vidxd_fd.node` (fd passing for vfio-user) and
 * `vidxd_crc.node` (CRC-32C with the CPU's CRC instruction, for the DSA engine). A leaf module every
 * layer may import, like the errno table: it knows file names, not what a layer does with them.
 *
 * {@link loadAddon} returns null when the binary is absent or fails to load, or when
 * `VIDXD_NO_ADDON=1` is set; the callers then run their JavaScript fallback.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The binaries of the addon. */
export type AddonName = 'vidxd_fd' | 'vidxd_crc';

/** The CRC binary's calls (see `src/vfio-user/native/vidxd_crc.c`). */
export interface NativeCrc {
  /**
   * Advances the raw CRC-32C register `crc32cState[0]` (reflected, no inversion) over
   * `bytes[offset, offset + length)` and stores it back in `crc32cState[0]`, with the mode bits of
   * `crc32cState[1]` ({@link NATIVE_CRC_MSB_FIRST}, {@link NATIVE_CRC_PORTABLE}). Allocates nothing.
   * Throws a RangeError when `bytes` is not a Uint8Array or the range is outside it.
   */
  crc32c(bytes: Uint8Array, offset: number, length: number): void;
  /** The register (`[0]`) and the mode bits (`[1]`) of {@link NativeCrc.crc32c}: one array per thread, shared by every caller on it. */
  readonly crc32cState: Uint32Array;
  /** The fast path the binary chose for this CPU: `'sse4.2'` or `'slice-by-8'`. */
  readonly crc32cImpl: string;
}

/** Mode bit of {@link NativeCrc.crc32c}: bit-reverse every data byte first (DSA op flag 18). */
export const NATIVE_CRC_MSB_FIRST = 1;
/** Mode bit of {@link NativeCrc.crc32c}: use the portable table path even when the CPU has a CRC instruction. */
export const NATIVE_CRC_PORTABLE = 2;

const cache = new Map<AddonName, object | null>();
const reasons = new Map<AddonName, string>();

/** The package root: the nearest directory above this module with a package.json. */
function packageRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return null;
}

/** Where the binary `name` is (or would be) built: an absolute path, or null when the package root is not found. */
export function addonFile(name: AddonName): string | null {
  const root = packageRoot();
  return root === null ? null : join(root, 'src', 'vfio-user', 'native', 'build', 'Release', `${name}.node`);
}

/**
 * The binary `name` of the addon, loaded once, or null (see {@link addonUnavailableReason}). The caller
 * names the interface it expects (`NativeCrc`, or the vfio-user layer's `NativeFd`).
 */
export function loadAddon<T extends object>(name: AddonName): T | null {
  const hit = cache.get(name);
  if (hit !== undefined) return hit as T | null;
  let mod: object | null = null;
  let why = '';
  if (process.env['VIDXD_NO_ADDON'] === '1') {
    why = 'VIDXD_NO_ADDON=1';
  } else {
    const file = addonFile(name);
    if (file === null || !existsSync(file)) {
      why = 'the addon is not built';
    } else {
      try {
        mod = createRequire(import.meta.url)(file) as object;
      } catch (e) {
        why = `the addon did not load: ${e instanceof Error ? e.message : String(e)}`;
      }
    }
  }
  cache.set(name, mod);
  reasons.set(name, why);
  return mod as T | null;
}

/** Why {@link loadAddon} returned null for `name` ('' when it did not). */
export function addonUnavailableReason(name: AddonName): string {
  loadAddon(name);
  return reasons.get(name) ?? '';
}

/**
 * The CRC binary, or null: also null when `VIDXD_CRC=js` asks for the JavaScript CRC (then
 * {@link addonUnavailableReason}('vidxd_crc') is not consulted: see {@link nativeCrcUnavailableReason}).
 */
export function loadNativeCrc(): NativeCrc | null {
  return process.env['VIDXD_CRC'] === 'js' ? null : loadAddon<NativeCrc>('vidxd_crc');
}

/** Why {@link loadNativeCrc} returned null ('' when it did not). */
export function nativeCrcUnavailableReason(): string {
  return process.env['VIDXD_CRC'] === 'js' ? 'VIDXD_CRC=js' : addonUnavailableReason('vidxd_crc');
}
