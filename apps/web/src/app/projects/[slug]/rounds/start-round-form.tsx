"use client";

import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { ROUND_DEFAULTS, ROUND_STRATEGIES, type RoundStrategy } from "@hemaloop/ml/contracts";
import { useTRPC } from "../../../../trpc/client";

const strategyHelp: Record<RoundStrategy, string> = {
  hybrid: "uncertain and diverse (recommended after the first rounds)",
  entropy: "most uncertain by entropy",
  margin: "smallest gap between the top two classes",
  leastConfidence: "lowest top probability",
  coreset: "covers the embedding space (k-center)",
  typiclust: "most typical cell of each cluster (cold start)",
  random: "random order (a baseline)",
};

/** The lead's "Start next round" form: strategy, batch size and optional minimum shares per class. */
export function StartRoundForm({ projectId, classes }: { projectId: string; classes: Array<{ key: string; name: string }> }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [strategy, setStrategy] = useState<RoundStrategy>(ROUND_DEFAULTS.strategy);
  const [batchSize, setBatchSize] = useState<number>(ROUND_DEFAULTS.batchSize);
  const [quotas, setQuotas] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const start = useMutation(
    trpc.alRound.start.mutationOptions({
      onSuccess: () => {
        setError(null);
        router.refresh();
      },
      onError: (e) => setError(e.message),
    }),
  );
  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    const shares = Object.fromEntries(
      Object.entries(quotas)
        .map(([k, v]) => [k, Number(v) / 100] as const)
        .filter(([, v]) => Number.isFinite(v) && v > 0),
    );
    start.mutate({ projectId, strategy, batchSize, ...(Object.keys(shares).length > 0 ? { quotas: shares } : {}) });
  };
  return (
    <form onSubmit={submit} className="stack" data-testid="start-round-form">
      <label>
        Strategy{" "}
        <select value={strategy} onChange={(e) => setStrategy(e.target.value as RoundStrategy)} name="strategy">
          {ROUND_STRATEGIES.map((s) => (
            <option key={s} value={s}>
              {s}: {strategyHelp[s]}
            </option>
          ))}
        </select>
      </label>
      <label>
        Batch size{" "}
        <input
          type="number"
          name="batchSize"
          min={1}
          max={ROUND_DEFAULTS.maxBatchSize}
          value={batchSize}
          onChange={(e) => setBatchSize(Number(e.target.value))}
          style={{ width: "6em" }}
        />
      </label>
      <details>
        <summary>Class quotas (optional): minimum share of the batch per predicted class, in %</summary>
        <div className="quota-grid" style={{ display: "flex", flexWrap: "wrap", gap: "0.5em 1em" }}>
          {classes.map((c) => (
            <label key={c.key} className="small">
              {c.name}{" "}
              <input
                type="number"
                min={0}
                max={100}
                step={1}
                aria-label={`Quota for ${c.name} (%)`}
                value={quotas[c.key] ?? ""}
                onChange={(e) => setQuotas((q) => ({ ...q, [c.key]: e.target.value }))}
                style={{ width: "4em" }}
              />
            </label>
          ))}
        </div>
      </details>
      <div>
        <button type="submit" className="primary" disabled={start.isPending}>
          {start.isPending ? "Starting…" : "Start next round"}
        </button>
      </div>
      {error ? (
        <p className="error small" role="alert">
          {error}
        </p>
      ) : null}
    </form>
  );
}

/** Reloads the page every two seconds while a round is queued or running, so its result appears without a click. */
export function RefreshWhileRunning({ running }: { running: boolean }) {
  const router = useRouter();
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => router.refresh(), 2_000);
    return () => clearInterval(timer);
  }, [running, router]);
  return null;
}
