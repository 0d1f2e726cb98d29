// Base64 encoding of bytes (for data URLs): one encoder writing ASCII bytes
// directly (no intermediate strings), also used chunk by chunk to stream
// large files.

const ascii = new TextDecoder("latin1");

/** Standard base64 of `bytes`, as a string. */
export function encodeBase64(bytes: Uint8Array): string {
  return ascii.decode(encodeBase64Bytes(bytes));
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
