"use client";

import { useState } from "react";

/** A button that asks once more, inline, before it acts (no browser dialog). */
export function ConfirmButton({
  label,
  question,
  onConfirm,
  pending,
  danger = false,
}: {
  label: string;
  question: string;
  onConfirm: () => void;
  pending: boolean;
  danger?: boolean;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" className="small" disabled={pending} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  }
  return (
    <span className="confirm small" role="group" aria-label={question}>
      {question}{" "}
      <button
        type="button"
        className={danger ? "danger" : "primary"}
        disabled={pending}
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        Confirm
      </button>{" "}
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}
