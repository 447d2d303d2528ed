const BYTE_TO_HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

/** Lower-case hex, the form hash-chain digests are stored in. */
export function encodeHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += BYTE_TO_HEX[byte];
  return out;
}

const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) HEX_VALUE["0123456789abcdef".charCodeAt(i)] = i;

/** Decodes lower-case hex; `undefined` for anything else. */
export function decodeHex(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const high = nibble(hex, i * 2);
    const low = nibble(hex, i * 2 + 1);
    if ((high | low) < 0) return undefined;
    out[i] = (high << 4) | low;
  }
  return out;
}

function nibble(hex: string, index: number): number {
  const code = hex.charCodeAt(index);
  return code < 128 ? (HEX_VALUE[code] as number) : -1;
}
