// MIME types by file extension and back (for data URLs, uploads and names).

const BY_EXTENSION: Record<string, string> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".bmp": "image/bmp",
  ".svg": "image/svg+xml",
  ".tif": "image/tiff",
  ".tiff": "image/tiff",
  ".ico": "image/vnd.microsoft.icon",
  ".wav": "audio/wav",
  ".mp3": "audio/mpeg",
  ".ogg": "audio/ogg",
  ".flac": "audio/flac",
  ".m4a": "audio/mp4",
  ".aac": "audio/aac",
  ".mid": "audio/midi",
  ".mp4": "video/mp4",
  ".webm": "video/webm",
  ".mov": "video/quicktime",
  ".avi": "video/x-msvideo",
  ".mpeg": "video/mpeg",
  ".txt": "text/plain",
  ".csv": "text/csv",
  ".html": "text/html",
  ".css": "text/css",
  ".md": "text/markdown",
  ".js": "text/javascript",
  ".json": "application/json",
  ".pdf": "application/pdf",
  ".zip": "application/zip",
  ".tar": "application/x-tar",
  ".gz": "application/gzip",
  ".npy": "application/octet-stream",
  ".bin": "application/octet-stream",
  ".glb": "model/gltf-binary",
  ".obj": "model/obj",
};

const PREFERRED_EXTENSION: Record<string, string> = {
  "image/jpeg": ".jpg",
  "image/png": ".png",
  "image/gif": ".gif",
  "image/webp": ".webp",
  "image/bmp": ".bmp",
  "image/svg+xml": ".svg",
  "image/tiff": ".tiff",
  "audio/wav": ".wav",
  "audio/x-wav": ".wav",
  "audio/wave": ".wav",
  "audio/mpeg": ".mp3",
  "audio/ogg": ".ogg",
  "audio/flac": ".flac",
  "video/mp4": ".mp4",
  "video/webm": ".webm",
  "text/plain": ".txt",
  "text/csv": ".csv",
  "text/html": ".html",
  "application/json": ".json",
  "application/pdf": ".pdf",
  "application/zip": ".zip",
  "model/gltf-binary": ".glb",
};

/** MIME type for a file name; application/octet-stream when unknown. */
export function mimeForName(name: string): string {
  const dot = name.lastIndexOf(".");
  if (dot === -1 || dot < name.lastIndexOf("/")) return "application/octet-stream";
  return BY_EXTENSION[name.slice(dot).toLowerCase()] ?? "application/octet-stream";
}

/** Extension (with the dot) for a MIME type, or null. */
export function extensionForMime(mime: string): string | null {
  const key = mime.trim().toLowerCase();
  if (PREFERRED_EXTENSION[key]) return PREFERRED_EXTENSION[key];
  for (const [ext, type] of Object.entries(BY_EXTENSION)) if (type === key) return ext;
  return null;
}
