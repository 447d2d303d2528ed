/**
 * A minimal CBOR encoder (RFC 8949) for what authenticators emit: unsigned and negative
 * integers, byte strings, text strings, arrays and maps. Map keys are written in CTAP2 canonical
 * order (shorter encoded key first, then bytewise), as real authenticators write them.
 * Deliberately independent of the server's CBOR decoder, so the two check each other.
 */
export type CborValue = number | string | Uint8Array | readonly CborValue[] | CborMap;
export type CborMap = ReadonlyMap<number | string, CborValue>;

export function encodeCbor(value: CborValue): Uint8Array {
  const chunks: Uint8Array[] = [];
  write(value, chunks);
  const out = new Uint8Array(chunks.reduce((length, chunk) => length + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

function write(value: CborValue, chunks: Uint8Array[]): void {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new TypeError(`CBOR: ${value} is not a safe integer`);
    if (value >= 0) head(0, value, chunks);
    else head(1, -1 - value, chunks);
  } else if (typeof value === "string") {
    const bytes = new TextEncoder().encode(value);
    head(3, bytes.length, chunks);
    chunks.push(bytes);
  } else if (value instanceof Uint8Array) {
    head(2, value.length, chunks);
    chunks.push(value);
  } else if (Array.isArray(value)) {
    const items = value as readonly CborValue[];
    head(4, items.length, chunks);
    for (const item of items) write(item, chunks);
  } else {
    const map = value as CborMap;
    const entries = [...map.entries()].map(([key, item]) => ({ key: encodeCbor(key), item }));
    entries.sort((a, b) => compareCanonical(a.key, b.key));
    head(5, entries.length, chunks);
    for (const entry of entries) {
      chunks.push(entry.key);
      write(entry.item, chunks);
    }
  }
}

function head(major: number, length: number, chunks: Uint8Array[]): void {
  const type = major << 5;
  if (length < 24) chunks.push(Uint8Array.of(type | length));
  else if (length < 0x100) chunks.push(Uint8Array.of(type | 24, length));
  else if (length < 0x10000) chunks.push(Uint8Array.of(type | 25, length >> 8, length & 0xff));
  else if (length < 0x1_0000_0000) {
    const bytes = new Uint8Array(5);
    bytes[0] = type | 26;
    new DataView(bytes.buffer).setUint32(1, length);
    chunks.push(bytes);
  } else {
    const bytes = new Uint8Array(9);
    bytes[0] = type | 27;
    new DataView(bytes.buffer).setBigUint64(1, BigInt(length));
    chunks.push(bytes);
  }
}

function compareCanonical(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) {
    const difference = (a[i] as number) - (b[i] as number);
    if (difference !== 0) return difference;
  }
  return 0;
}
