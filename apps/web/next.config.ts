import type { NextConfig } from "next";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { copyOsdImages } from "./scripts/copy-osd-images.mjs";
import { securityHeaders } from "./security-headers.mjs";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

// OpenSeadragon's button images are served from /osd-images; make sure they exist even when
// `next build` / `next start` run without the npm prebuild hook.
copyOsdImages({ quiet: true, ifMissing: true });

const nextConfig: NextConfig = {
  // The workspace packages export TypeScript source with extensionless imports.
  transpilePackages: ["@hemaloop/db", "@hemaloop/ml", "@hemaloop/ui"],
  // Native / wasm / socket packages stay plain Node requires (never bundled, never run at build time).
  // rate-limiter-flexible imports drizzle-orm at run time by a computed name, which a bundle cannot follow.
  serverExternalPackages: [
    "@electric-sql/pglite",
    "@electric-sql/pglite-socket",
    "postgres",
    "sharp",
    "@aws-sdk/lib-storage",
    "rate-limiter-flexible",
    "drizzle-orm",
  ],
  poweredByHeader: false,
  // CSP, nosniff, no framing, referrer policy on every response (pages, API, files, static assets).
  headers: async () => [{ source: "/:path*", headers: securityHeaders({ dev: process.env.NODE_ENV === "development" }) }],
  reactStrictMode: true,
  outputFileTracingRoot: repoRoot,
  turbopack: { root: repoRoot },
  // forbidden() / unauthorized() from next/navigation for role failures in server components.
  experimental: { authInterrupts: true },
};

export default nextConfig;
