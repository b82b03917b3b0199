"use client";

import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { formText } from "../form-text";
import { useTRPC } from "../../trpc/client";

/** Share one dataset with a project (by slug) or withdraw a share (institution admins). */
export function ShareControls(props: { datasetId: string; datasetName: string; sharedWith: Array<{ slug: string }> }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const done = {
    onSuccess: () => {
      setError(null);
      router.refresh();
    },
    onError: (e: { message: string }) => setError(e.message),
  };
  const share = useMutation(trpc.dataset.share.mutationOptions(done));
  const unshare = useMutation(trpc.dataset.unshare.mutationOptions(done));
  return (
    <div>
      {props.sharedWith.map((s) => (
        <span key={s.slug} className="role" style={{ marginRight: 6 }}>
          {s.slug}{" "}
          <button
            type="button"
            aria-label={`Unshare ${props.datasetName} from ${s.slug}`}
            disabled={unshare.isPending}
            onClick={() => unshare.mutate({ datasetId: props.datasetId, projectSlug: s.slug })}
          >
            ×
          </button>
        </span>
      ))}
      <form
        style={{ display: "inline" }}
        onSubmit={(e) => {
          e.preventDefault();
          share.mutate({ datasetId: props.datasetId, projectSlug: formText(new FormData(e.currentTarget), "slug").trim() });
        }}
      >
        <input name="slug" placeholder="project slug" aria-label={`Share ${props.datasetName} with project`} required />{" "}
        <button type="submit" disabled={share.isPending}>
          Share
        </button>
      </form>
      {error ? (
        <span className="error small" role="alert" style={{ display: "block" }}>
          {error}
        </span>
      ) : null}
    </div>
  );
}
