"use client";

import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { trpcDomainDetails, useTRPC } from "../../../../trpc/client";

/** "Publish" for leads: makes a ready model the project's current one; a refusal shows the server's reasons. */
export function PublishButton({ projectId, modelVersionId, name }: { projectId: string; modelVersionId: string; name: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [error, setError] = useState<{ message: string; reasons: string[] } | null>(null);
  const publish = useMutation(
    trpc.model.publish.mutationOptions({
      onSuccess: () => {
        setError(null);
        router.refresh();
      },
      onError: (e) =>
        setError({ message: e.message, reasons: trpcDomainDetails<{ collapseReasons?: string[] | null }>(e)?.collapseReasons ?? [] }),
    }),
  );
  return (
    <span>
      <button
        type="button"
        className="primary"
        disabled={publish.isPending}
        onClick={() => publish.mutate({ projectId, modelVersionId })}
        aria-label={`Publish ${name}`}
      >
        {publish.isPending ? "Publishing…" : "Publish"}
      </button>
      {error ? (
        <span className="error small" role="alert" style={{ display: "block" }}>
          {error.message}
          {error.reasons.length ? `: ${error.reasons.join("; ")}` : ""}
        </span>
      ) : null}
    </span>
  );
}
