import { InvalidStorageKeyError } from "./storage";

/**
 * Refuses keys that are not plain relative paths: absolute, "..", ".", empty segments, backslashes
 * (a Windows separator would let "a\\..\\b" escape there) and control characters.
 */
export function assertValidKey(key: string, options: { allowTrailingSlash?: boolean } = {}): void {
  if (typeof key !== "string" || key.length === 0) throw new InvalidStorageKeyError(String(key), "empty");
  if (key.length > 1024) throw new InvalidStorageKeyError(key, "longer than 1024 characters");
  if (key.startsWith("/")) throw new InvalidStorageKeyError(key, "absolute");
  if (key.includes("\\")) throw new InvalidStorageKeyError(key, "contains a backslash");
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f]/.test(key)) throw new InvalidStorageKeyError(key, "contains a control character");
  const body = options.allowTrailingSlash && key.endsWith("/") ? key.slice(0, -1) : key;
  for (const segment of body.split("/")) {
    if (segment === "") throw new InvalidStorageKeyError(key, "empty path segment");
    if (segment === "." || segment === "..") throw new InvalidStorageKeyError(key, `"${segment}" segment`);
  }
}

export type ImageKeys = {
  original: string;
  thumbnail: string;
  dzi: string;
  /** Prefix holding the Deep Zoom tiles (ends in "/"). */
  dzFiles: string;
};

/** Content-addressed keys for an image's bytes and derivatives; the two-character fan-out keeps directories small. */
export function imageKeys(sha256: string, extension: string): ImageKeys {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new InvalidStorageKeyError(sha256, "not a sha256 hex digest");
  if (!/^[a-z0-9]{1,8}$/.test(extension)) throw new InvalidStorageKeyError(extension, "bad file extension");
  const fan = sha256.slice(0, 2);
  return {
    original: `images/${fan}/${sha256}.${extension}`,
    thumbnail: `thumbs/${fan}/${sha256}.webp`,
    dzi: `dz/${fan}/${sha256}.dzi`,
    dzFiles: `dz/${fan}/${sha256}_files/`,
  };
}

/** Prefix of one browser upload's files, waiting for their import job (removed after it). */
export function uploadPrefix(uploadId: string): string {
  if (!/^[0-9a-f-]{36}$/.test(uploadId)) throw new InvalidStorageKeyError(uploadId, "upload id is not a uuid");
  return `uploads/${uploadId}/`;
}

/**
 * Key of the index-th file of an upload. The browser's name is kept only as a readable hint (the import
 * job names files from its payload); the index keeps two files of the same name apart.
 */
export function uploadFileKey(uploadId: string, index: number, fileName: string): string {
  const hint =
    fileName
      .replace(/[^A-Za-z0-9._-]/g, "_")
      .replace(/^\.+/, "")
      .slice(-100) || "file";
  return `${uploadPrefix(uploadId)}${index}-${hint}`;
}
