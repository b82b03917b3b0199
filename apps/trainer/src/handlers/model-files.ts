import type { Storage } from "@hemaloop/db/storage";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

/**
 * Where a model version is assembled before upload. Named by the version, not random, so whoever
 * cleans up after a killed worker (the next attempt, a stale sweep on the same host) can find it.
 */
export function modelWorkDir(modelVersionId: string): string {
  return path.join(tmpdir(), `hemaloop-train-${modelVersionId}`);
}

export function modelArtifactPrefix(modelVersionId: string): string {
  return `models/${modelVersionId}/`;
}

/** Deletes what a half-trained model version left: its storage prefix and its local work dir. */
export async function removeModelVersionFiles(storage: Storage, modelVersionIds: string[]): Promise<void> {
  for (const id of modelVersionIds) {
    await storage.deletePrefix(modelArtifactPrefix(id));
    await rm(modelWorkDir(id), { recursive: true, force: true });
  }
}
