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
