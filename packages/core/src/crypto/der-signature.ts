/**
 * Converts an ECDSA signature from ASN.1 DER (`SEQUENCE { INTEGER r, INTEGER s }`, what AWS KMS
 * and OpenSSL return) to the JOSE form (`r ‖ s`, each left-padded to the curve size; RFC 7518
 * §3.4). Throws `TypeError` on anything that is not a strict DER signature for that size.
 */
export function derToJoseSignature(der: Uint8Array, componentSize = 32): Uint8Array {
  let offset = 0;
  const byte = (): number => {
    const value = der[offset++];
    if (value === undefined) throw new TypeError("Truncated DER ECDSA signature");
    return value;
  };
  const length = (): number => {
    const first = byte();
    if (first < 0x80) return first;
    if (first !== 0x81) throw new TypeError("Unsupported DER length in ECDSA signature");
    const value = byte();
    if (value < 0x80) throw new TypeError("Non-minimal DER length in ECDSA signature");
    return value;
  };
  const integer = (): Uint8Array => {
    if (byte() !== 0x02) throw new TypeError("Expected a DER INTEGER in ECDSA signature");
    const size = length();
    if (size === 0 || offset + size > der.length) throw new TypeError("Bad DER INTEGER length");
    let value = der.subarray(offset, offset + size);
    offset += size;
    if ((value[0] as number) & 0x80) throw new TypeError("Negative DER INTEGER in ECDSA signature");
    if (value[0] === 0 && value.length > 1) {
      if (!((value[1] as number) & 0x80)) throw new TypeError("Non-minimal DER INTEGER");
      value = value.subarray(1);
    }
    if (value.length > componentSize) throw new TypeError("DER INTEGER too large for the curve");
    return value;
  };

  if (byte() !== 0x30) throw new TypeError("Expected a DER SEQUENCE for an ECDSA signature");
  if (length() !== der.length - offset) throw new TypeError("Bad DER SEQUENCE length");
  const r = integer();
  const s = integer();
  if (offset !== der.length) throw new TypeError("Trailing bytes after DER ECDSA signature");
  const jose = new Uint8Array(componentSize * 2);
  jose.set(r, componentSize - r.length);
  jose.set(s, componentSize * 2 - s.length);
  return jose;
}
