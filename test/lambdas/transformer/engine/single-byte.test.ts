import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { decodeSingleByte, windows1252Byte } from '../../../../lambdas/transformer/engine/single-byte.js';

/** Every byte, and the bytes inside a longer buffer (an offset into a larger ArrayBuffer, as chunks arrive). */
const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);

describe('single-byte charsets (iconv-lite the reference)', () => {
  it.each(['latin1', 'windows-1252'] as const)('decodes every byte of %s as iconv-lite does', (encoding) => {
    expect(decodeSingleByte(ALL_BYTES, encoding)).toBe(iconv.decode(Buffer.from(ALL_BYTES), encoding));
    for (let b = 0; b < 256; b++)
      expect(decodeSingleByte(Uint8Array.of(b), encoding), `0x${b.toString(16)}`).toBe(iconv.decode(Buffer.of(b), encoding));
    const inside = new Uint8Array(300);
    inside.set(ALL_BYTES, 20);
    expect(decodeSingleByte(inside.subarray(20, 276), encoding)).toBe(iconv.decode(Buffer.from(ALL_BYTES), encoding));
  });

  it('decodes the five undefined windows-1252 bytes as U+FFFD, and nothing else', () => {
    const text = decodeSingleByte(ALL_BYTES, 'windows-1252');
    expect([...text].flatMap((c, i) => (c === '\ufffd' ? [i.toString(16)] : []))).toEqual(['81', '8d', '8f', '90', '9d']);
    expect(decodeSingleByte(Uint8Array.from([0x80, 0x41, 0x96, 0xe4]), 'windows-1252')).toBe('€A–ä');
  });

  it('finds the windows-1252 byte of every BMP character as iconv-lite encodes it (and none for what it cannot write)', () => {
    for (let code = 0; code <= 0xffff; code++) {
      // iconv-lite encodes U+FFFD as 0x9D, an undefined byte it decodes back to U+FFFD; no file holding it decodes
      if (code === 0xfffd) continue;
      const char = String.fromCharCode(code);
      const byte = iconv.encode(char, 'windows-1252');
      const expected = iconv.decode(byte, 'windows-1252') === char ? byte[0] : undefined;
      if (windows1252Byte(char) !== expected) expect(windows1252Byte(char), `U+${code.toString(16)}`).toBe(expected);
    }
    expect(windows1252Byte('\ufffd')).toBeUndefined();
    expect(windows1252Byte('😀')).toBeUndefined();
  });
});
