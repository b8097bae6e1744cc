/**
 * The canonical `lspci -xxxx` text form of a config-space image, which `lspci -F FILE` reads back
 * (see docs/spec/lspci-dump.md).
 */

const BDF = /^(?:[0-9a-f]{4}:)?[0-9a-f]{2}:[01][0-9a-f]\.[0-7]$/i;

/**
 * Formats `image` as lspci prints it: a header line `BDF title` (the space after the BDF is
 * required by lspci), then 16 bytes a line with 2-digit offsets below 0x100 and 3-digit ones above,
 * then a blank line, exactly as `lspci -xxxx` ends a device (so dumps can be concatenated). A 256-byte image gives a 256-byte dump, for which lspci never walks extended
 * capabilities. Throws a plain `Error` for a malformed BDF, a title with a line break, or an image
 * whose length is not a multiple of 16 in 64..4096.
 * @param bdf `BB:DD.F` or `DDDD:BB:DD.F` in hex
 */
export function formatLspciDump(image: Uint8Array, bdf: string, title: string): string {
  if (!BDF.test(bdf)) throw new Error(`"${bdf}" is not a bus:device.function address (BB:DD.F or DDDD:BB:DD.F)`);
  if (/[\r\n]/.test(title)) throw new Error('the dump title must be a single line');
  if (image.length < 64 || image.length > 4096 || image.length % 16 !== 0) {
    throw new Error(`a dump needs 64..4096 bytes in whole lines of 16, not ${image.length}`);
  }
  const lines: string[] = [`${bdf.toLowerCase()} ${title}`];
  for (let off = 0; off < image.length; off += 16) {
    const bytes: string[] = [];
    for (let i = 0; i < 16; i++) bytes.push((image[off + i] as number).toString(16).padStart(2, '0'));
    lines.push(`${off.toString(16).padStart(off < 0x100 ? 2 : 3, '0')}: ${bytes.join(' ')}`);
  }
  return `${lines.join('\n')}\n\n`;
}
