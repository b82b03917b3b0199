// Security headers for every response (pages, API routes, stored files, static assets), applied by
// next.config.ts. Plain .mjs so next.config and the tests load the same list.

/**
 * Content-Security-Policy. Next inlines its bootstrap scripts without a nonce on statically rendered
 * pages, so scripts allow 'self' + 'unsafe-inline' (no third-party origin is ever allowed); React and
 * OpenSeadragon set inline styles; OpenSeadragon draws tiles from our own /api/files and may use data:/blob:
 * images. `next dev` also needs eval for its refresh runtime.
 * @param {{ dev?: boolean }} [options]
 */
export function contentSecurityPolicy({ dev = false } = {}) {
  return [
    "default-src 'self'",
    `script-src 'self' 'unsafe-inline'${dev ? " 'unsafe-eval'" : ""}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src 'self'${dev ? " ws: wss:" : ""}`,
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** @param {{ dev?: boolean }} [options] @returns {{ key: string; value: string }[]} */
export function securityHeaders(options = {}) {
  return [
    { key: "Content-Security-Policy", value: contentSecurityPolicy(options) },
    { key: "X-Content-Type-Options", value: "nosniff" },
    { key: "X-Frame-Options", value: "DENY" },
    { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
  ];
}
