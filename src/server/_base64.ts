// Base64 encoding of bytes (for data URLs), chunked so large files do not
// build one giant intermediate string of char codes.

const CHUNK = 0x8000;

/** Standard base64 of `bytes`. */
export function encodeBase64(bytes: Uint8Array): string {
  const parts: string[] = [];
  // 3-byte aligned chunks keep the concatenation valid base64.
  const step = CHUNK - (CHUNK % 3);
  for (let i = 0; i < bytes.length; i += step) {
    parts.push(btoa(String.fromCharCode(...bytes.subarray(i, i + step))));
  }
  return parts.join("");
}

const ALPHABET = new TextEncoder().encode(
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
);

/** Standard base64 of `bytes` as ASCII bytes (no intermediate strings: for streaming large files). */
export function encodeBase64Bytes(bytes: Uint8Array, into?: Uint8Array): Uint8Array {
  const size = Math.ceil(bytes.length / 3) * 4;
  const out = into && into.length >= size ? into.subarray(0, size) : new Uint8Array(size);
  let o = 0;
  let i = 0;
  const whole = bytes.length - (bytes.length % 3);
  for (; i < whole; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out[o++] = ALPHABET[n >> 18];
    out[o++] = ALPHABET[(n >> 12) & 63];
    out[o++] = ALPHABET[(n >> 6) & 63];
    out[o++] = ALPHABET[n & 63];
  }
  const rest = bytes.length - whole;
  if (rest > 0) {
    const n = (bytes[i] << 16) | (rest === 2 ? bytes[i + 1] << 8 : 0);
    out[o++] = ALPHABET[n >> 18];
    out[o++] = ALPHABET[(n >> 12) & 63];
    out[o++] = rest === 2 ? ALPHABET[(n >> 6) & 63] : 61;
    out[o++] = 61;
  }
  return out;
}
