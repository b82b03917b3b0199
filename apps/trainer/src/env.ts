import { resolveDbConfig, resolveRuntimeConfig, schema } from "@hemaloop/db";
import { availableParallelism, hostname } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

const trainerEnv = z.object({
  TRAINER_WORKER_ID: z.string().min(1).optional(),
  TRAINER_POLL_MS: z.coerce.number().int().positive().default(1_000),
  TRAINER_HEARTBEAT_MS: z.coerce.number().int().positive().default(5_000),
  TRAINER_STALE_MS: z.coerce.number().int().positive().default(60_000),
  /** tfjs backend override: tensorflow | wasm | cpu | auto */
  HEMALOOP_TF_BACKEND: z.enum(["auto", "tensorflow", "wasm", "cpu"]).default("auto"),
  /** Data-parallel training threads (wasm uses one core per thread). */
  TRAINER_TRAIN_THREADS: z.coerce.number().int().min(1).max(64).optional(),
  /** Comma-separated job types this trainer claims (e.g. "import" for a CPU worker beside a GPU trainer); unset = all. */
  TRAINER_JOB_TYPES: z
    .string()
    .optional()
    .transform((v) =>
      v
        ? v
            .split(",")
            .map((t) => t.trim())
            .filter(Boolean)
        : undefined,
    )
    .pipe(z.array(z.enum(schema.jobType.enumValues)).min(1, "TRAINER_JOB_TYPES lists no job type").optional()),
});

/** Validated once at start-up; everything below receives plain config. */
export function loadTrainerConfig(env: Record<string, string | undefined> = process.env) {
  const runtime = resolveRuntimeConfig(env, repoRoot);
  const parsed = trainerEnv.parse(env);
  return {
    runtime,
    db: resolveDbConfig(runtime),
    workerId: parsed.TRAINER_WORKER_ID ?? `${hostname()}-${process.pid}`,
    pollIntervalMs: parsed.TRAINER_POLL_MS,
    heartbeatIntervalMs: parsed.TRAINER_HEARTBEAT_MS,
    staleAfterMs: parsed.TRAINER_STALE_MS,
    tfBackend: parsed.HEMALOOP_TF_BACKEND,
    trainThreads: parsed.TRAINER_TRAIN_THREADS ?? Math.min(2, availableParallelism()),
    jobTypes: parsed.TRAINER_JOB_TYPES,
  };
}

export type TrainerConfig = ReturnType<typeof loadTrainerConfig>;
