import { realpath, stat } from "node:fs/promises";
import path from "node:path";
import { FileRejectedError } from "./import-types";

export function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative);
}

/**
 * Resolves a source-relative path to a real file inside root. The lexical check catches "../" and
 * absolute paths; the realpath check catches symlinks (anywhere on the way) that point outside.
 */
export async function resolveInsideRoot(
  root: string,
  rootName: string,
  relativePath: string,
  realRoots: Map<string, Promise<string>>,
): Promise<{ realPath: string; size: number }> {
  if (path.isAbsolute(relativePath)) {
    throw new FileRejectedError(`absolute path "${relativePath}" is not allowed: paths must be relative to ${rootName}`);
  }
  const resolved = path.resolve(root, relativePath);
  if (!isInside(root, resolved)) throw new FileRejectedError(`path "${relativePath}" escapes ${rootName}`);

  let realRoot = realRoots.get(root);
  if (!realRoot) {
    realRoot = realpath(root);
    realRoots.set(root, realRoot);
  }
  let real: string;
  try {
    real = await realpath(resolved);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw new FileRejectedError("file not found");
    if (code === "ELOOP") throw new FileRejectedError("symlink loop");
    throw error;
  }
  if (!isInside(await realRoot, real)) {
    throw new FileRejectedError(`path "${relativePath}" resolves outside ${rootName} (symlink)`);
  }
  const info = await stat(real);
  if (!info.isFile()) throw new FileRejectedError("not a regular file");
  return { realPath: real, size: info.size };
}
