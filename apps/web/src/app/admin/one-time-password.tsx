"use client";

import { useState } from "react";

/** A generated password, shown once (it is not stored in clear anywhere), with a copy button. */
export function OneTimePassword({ email, password, onDismiss }: { email: string; password: string; onDismiss: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="notice" role="status" data-testid="one-time-password-notice">
      <p>
        One-time password for <strong>{email}</strong> (shown only now; they must choose their own at first sign-in):
      </p>
      <p>
        <code data-testid="one-time-password">{password}</code>{" "}
        <button
          type="button"
          onClick={() => {
            void navigator.clipboard?.writeText(password).then(
              () => setCopied(true),
              () => setCopied(false),
            );
          }}
        >
          {copied ? "Copied" : "Copy"}
        </button>{" "}
        <button type="button" onClick={onDismiss}>
          Done
        </button>
      </p>
    </div>
  );
}
