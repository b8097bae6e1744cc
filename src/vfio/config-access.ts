/**
 * The vfio-pci rule for config-space accesses of any length: split into naturally aligned 1-, 2- or
 * 4-byte pieces that never cross a dword (`vfio-uapi.md` §3.4). A config region's handler loops with
 * {@link configPieceSize}; nothing is allocated.
 */

/**
 * Size of the next piece of a config access at `offset` with `remaining` bytes left: 4 when at least 4
 * remain and `offset` is dword aligned, else 2 when at least 2 remain and `offset` is even, else 1.
 *
 * @example
 * for (let done = 0; done < buf.length; ) {
 *   const n = configPieceSize(offset + done, buf.length - done);
 *   // access n bytes at offset + done, buf[done .. done + n)
 *   done += n;
 * }
 */
export function configPieceSize(offset: number, remaining: number): 1 | 2 | 4 {
  if (remaining >= 4 && offset % 4 === 0) return 4;
  if (remaining >= 2 && offset % 2 === 0) return 2;
  return 1;
}
