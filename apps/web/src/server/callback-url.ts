const BASE = "http://callback.invalid";
// Backslashes (browsers read them as slashes) and control characters (browsers drop tabs and newlines, so
// "/\t/evil" becomes "//evil") have no place in our paths; a raw space neither (we always encode it).
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const SUSPICIOUS_RAW = /[\\\u0000-\u0020\u007f]/;
// eslint-disable-next-line no-control-regex -- as above
const SUSPICIOUS_DECODED = /[\\\u0000-\u001f\u007f]/;

/** Percent-decodes until stable (at most a few rounds), or null when the encoding is broken. */
function decodeFully(value: string): string | null {
  let current = value;
  for (let i = 0; i < 4; i++) {
    let next: string;
    try {
      next = decodeURIComponent(current);
    } catch {
      return null;
    }
    if (next === current) return current;
    current = next;
  }
  return null;
}

/**
 * The one check for every post-sign-in destination (the sign-in page, the sign-in action, Auth.js's
 * redirect callback): only a same-origin relative path is followed, anything else becomes `fallback`.
 * Refuses protocol-relative (`//evil`, `/\evil`), schemes (`javascript:`), absolute URLs and their
 * percent-encoded forms, so no open redirect survives a later decode by a browser or proxy.
 */
export function safeCallbackUrl(value: unknown, fallback = "/"): string {
  if (typeof value !== "string" || value.length === 0 || value.length > 2048) return fallback;
  const decoded = decodeFully(value);
  if (decoded === null) return fallback;
  for (const [form, suspicious] of [
    [value, SUSPICIOUS_RAW],
    [decoded, SUSPICIOUS_DECODED],
  ] as const) {
    if (!form.startsWith("/") || form.startsWith("//") || suspicious.test(form)) return fallback;
  }
  let parsed: URL;
  try {
    parsed = new URL(value, BASE);
  } catch {
    return fallback;
  }
  if (parsed.origin !== BASE) return fallback;
  return parsed.pathname + parsed.search + parsed.hash;
}

/**
 * Auth.js's redirect callback: it hands over relative paths or absolute URLs; only ones on our own
 * origin pass, through the same check as everywhere else.
 */
export function resolveAuthRedirect(url: string, baseUrl: string): string {
  const base = new URL(baseUrl);
  let relative = url;
  if (!url.startsWith("/")) {
    try {
      const absolute = new URL(url);
      if (absolute.origin !== base.origin) return baseUrl;
      relative = absolute.pathname + absolute.search + absolute.hash;
    } catch {
      return baseUrl;
    }
  }
  return new URL(safeCallbackUrl(relative), base).toString();
}
